// Command egov is the one binary of the egov suite: every service, the dev mode, and the tools for
// people and scripts (certificates, signatures, catalogue, load).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "egov:", err)
		os.Exit(1)
	}
}

// run is the whole program; tests call it with their own arguments and writers.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if err := startProfiler(ctx); err != nil {
		return err
	}
	cmd := rootCommand(stdout, stderr)
	cmd.SetArgs(args)
	return cmd.ExecuteContext(ctx)
}
