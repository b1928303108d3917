package cmdutil

import "strings"

// Dedent removes the indentation common to every non-blank line of s and
// the leading newline, so help text can be written indented inside Go
// source and still print flush left.
func Dedent(s string) string {
	s = strings.TrimPrefix(s, "\n")
	lines := strings.Split(s, "\n")
	common := -1
	for _, line := range lines {
		if strings.TrimSpace(line) == "" {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " \t"))
		if common < 0 || indent < common {
			common = indent
		}
	}
	for i, line := range lines {
		if len(line) >= common && common > 0 {
			lines[i] = line[common:]
		} else {
			lines[i] = strings.TrimLeft(line, " \t")
		}
	}
	return strings.Join(lines, "\n")
}

// Examples formats an Example section: dedented, each line indented by
// two spaces, without the trailing newline cobra would double.
func Examples(s string) string {
	lines := strings.Split(strings.TrimRight(Dedent(s), "\n"), "\n")
	for i, line := range lines {
		if line != "" {
			lines[i] = "  " + line
		}
	}
	return strings.Join(lines, "\n")
}
