package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/internal/telemetry"
)

func rootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "egov",
		Short: "The egov suite: Kazakhstan's e-government service delivery, end to end",
		Long: `egov runs the systems of the e-government suite — НУЦ (certification authority), ШЭП (gateway),
РШЭП and АРМ (regional node and civil servant's workstation), ПЭП (portal), ЦОН (service centre desk),
ГБД ФЛ and ЕНИС (registries) — and the tools around them.

Start with "egov dev": everything in one process on an embedded NATS and PostgreSQL.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		devCommand(stdout, stderr),
		runCommand(stderr),
		natsCommand(stdout, stderr),
		configCommand(stdout),
		ncaCommand(stdout),
		shepCommand(stdout),
		gbdflCommand(stdout),
		enisCommand(stdout),
		conformanceCommand(stdout),
		catalogCommand(stdout),
		signCommand(stdout),
		ncalayerCommand(stdout, stderr),
		loadgenCommand(stdout),
		verifyCommand(stdout),
		versionCommand(stdout),
	)
	return root
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func versionCommand(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(stdout, "egov", version())
			return err
		},
	}
}

func configCommand(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Print the configuration read from the environment, secrets masked",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			p, err := loadPlatform()
			if err != nil {
				return err
			}
			return config.Print(stdout, p)
		},
	}
}

func loadPlatform() (config.Platform, error) {
	var p config.Platform
	if err := config.Load(&p, nil); err != nil {
		return p, err
	}
	return p, p.Validate()
}

// setupTelemetry builds and installs the process's providers and logger.
func setupTelemetry(ctx context.Context, p config.Platform, name string, stderr io.Writer) (*telemetry.Providers, *slog.Logger, error) {
	log := telemetry.NewLogger(stderr, p.LogLevel)
	tel, err := telemetry.Setup(ctx, telemetry.Options{
		ServiceName: name, Version: version(),
		TraceExporter: p.TraceExporter, MetricsExporter: p.MetricsExporter, SampleRatio: p.TraceSampleRatio,
	})
	if err != nil {
		return nil, nil, err
	}
	tel.Install()
	return tel, log, nil
}
