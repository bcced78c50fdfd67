// Command gbdfl-adapter serves egov.gbdfl.v1 over TLS in front of a remote register's HTTP API.
//
//	gbdfl-adapter --listen :9443 --cert adapter.pem --key adapter-key.pem --client-ca root.pem --remote https://register.example.kz/api
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"

	"github.com/egov-suite/egov/examples/gbdfladapter"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	"github.com/egov-suite/egov/shepsdk"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gbdfl-adapter:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", ":9443", "address to serve egov.gbdfl.v1 on")
	certFile := flag.String("cert", "", "PEM certificate of the adapter (its chain first)")
	keyFile := flag.String("key", "", "PEM private key of the adapter")
	clientCA := flag.String("client-ca", "", "PEM file of НУЦ's root: admit the suite's ГБД ФЛ (system certificate gbdfl) only; empty admits any client")
	remote := flag.String("remote", "", "base URL of the remote register's API")
	flag.Parse()
	if *certFile == "" || *keyFile == "" || *remote == "" {
		return errors.New("--cert, --key and --remote are required")
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		return fmt.Errorf("--cert/--key: %w", err)
	}
	var creds grpc.ServerOption
	if *clientCA != "" {
		roots, err := shepsdk.ReadCertificates(*clientCA)
		if err != nil {
			return fmt.Errorf("--client-ca: %w", err)
		}
		pool := x509Pool(roots)
		creds = gbdfladapter.ServerTLS(cert, pool, gbdflv1.ParticipantID)
	} else {
		creds = gbdfladapter.ServerTLS(cert, nil)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	lis, err := new(net.ListenConfig).Listen(ctx, "tcp", *listen)
	if err != nil {
		return err
	}
	gs := grpc.NewServer(creds)
	gbdflv1.RegisterPersonRegistryServiceServer(gs, &gbdfladapter.Server{Registry: gbdfladapter.HTTPRegistry{Base: *remote}})
	go func() {
		<-ctx.Done()
		gs.GracefulStop()
	}()
	slog.Info("serving egov.gbdfl.v1", "addr", lis.Addr().String(), "remote", *remote)
	return gs.Serve(lis)
}

func x509Pool(certs []*x509.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool
}
