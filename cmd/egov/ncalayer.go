package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/egov-suite/egov/internal/ncalayer"
	"github.com/egov-suite/egov/internal/serve"
	"github.com/egov-suite/egov/internal/telemetry"
)

func ncalayerCommand(stdout, stderr io.Writer) *cobra.Command {
	var addr, person string
	var origins []string
	cmd := &cobra.Command{
		Use:   "ncalayer [key files or folders…]",
		Short: "Run a local signer speaking NCALayer's WebSocket protocol over PKCS#12 key files",
		Long: `ncalayer is a local stand-in for NCALayer: web pages (the portal, the ЦОН desk, АРМ РШЭП) connect to
ws://127.0.0.1:13579 and ask it for a detached CMS signature with the chosen AUTHENTICATION or SIGNATURE
key, so the private key stays on this machine. Open http://127.0.0.1:13579/ to choose whose key signs.
As NCALayer does, it asks before it uses a key for a site not allowed yet (--allow-origin): the request
waits on that page for «Разрешить» or «Запретить», and is refused when denied or left unanswered.
The key files' password is read from EGOV_NCALAYER_PASSWORD (or asked for on the terminal's standard input).`,
		Example: `  EGOV_NCALAYER_PASSWORD=egov-demo egov ncalayer .egov/keys --person citizen-akhmetova`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, ok := os.LookupEnv("EGOV_NCALAYER_PASSWORD")
			if !ok {
				_, _ = fmt.Fprint(stderr, "key files' password: ")
				if _, err := fmt.Fscanln(cmd.InOrStdin(), &pw); err != nil {
					return fmt.Errorf("password: %w", err)
				}
			}
			log := telemetry.NewLogger(stderr, "info")
			s, err := ncalayer.New(ncalayer.Options{Files: args, Password: pw, Person: person, Origins: origins, Log: log})
			if err != nil {
				return err
			}
			l, err := serve.Listen(addr)
			if err != nil {
				return fmt.Errorf("%w (is NCALayer already running?)", err)
			}
			srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			go func() {
				<-ctx.Done()
				sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(sctx)
			}()
			fmt.Fprintf(stdout, "egov ncalayer: %d keys; ws://%s/ (choose keys at http://%s/)\n", len(s.Keys()), l.Addr(), l.Addr())
			if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", ncalayer.DefaultAddr, "listen address (keep it on the loopback)")
	cmd.Flags().StringVar(&person, "person", "", "choose this person's keys at start (the file name without -AUTH.p12/-SIGN.p12)")
	cmd.Flags().StringSliceVar(&origins, "allow-origin", nil, "web origins, exactly scheme://host[:port] (e.g. http://127.0.0.1:8060), whose pages may use the keys without asking; any other site waits for Allow on the signer's page")
	return cmd
}
