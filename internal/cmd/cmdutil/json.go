package cmdutil

import (
	"encoding/json"
	"io"
)

// WriteJSON writes v as the --json output of every command: indented by two
// spaces and ended by a newline, so that scripts and golden files see one
// format whichever command printed it.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
