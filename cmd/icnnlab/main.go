// Command icnnlab is the icnnlab command-line tool; see internal/cmd.
package main

import (
	"context"
	"os"
	"os/signal"

	// Backends register themselves when imported.
	_ "github.com/icnnlab/icnnlab/backends/gorgonia"
	_ "github.com/icnnlab/icnnlab/backends/libtorch"
	// Reference masks and losses register themselves as built-in plugins.
	_ "github.com/icnnlab/icnnlab/plugins/reference"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/root"
)

// version is set at link time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := root.Run(ctx, cmdutil.New(version), version, os.Args[1:])
	stop()
	os.Exit(code)
}
