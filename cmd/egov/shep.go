package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
)

func shepCommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "shep", Short: "Manage ШЭП, the e-government gateway: participants, services, grants, dead letters, the message log"}
	var t target
	t.adminFlags(cmd)
	for _, c := range []*cobra.Command{shepParticipant(stdout, &t), shepService(stdout, &t), shepGrant(stdout, &t, true),
		shepGrant(stdout, &t, false), shepDLQ(stdout, &t), shepLog(stdout, &t)} {
		cmd.AddCommand(c)
	}
	cmd.PersistentFlags().AddFlagSet(cmd.Flags())
	return cmd
}

func shepAdmin(t *target) (shepv1.ShepAdminServiceClient, func(), error) {
	conn, err := t.dial("shep")
	if err != nil {
		return nil, nil, err
	}
	return shepv1.NewShepAdminServiceClient(conn), func() { conn.Close() }, nil
}

func shepParticipant(stdout io.Writer, t *target) *cobra.Command {
	cmd := &cobra.Command{Use: "participant", Short: "Register or list participants (systems)"}
	var title, certSHA string
	add := &cobra.Command{
		Use: "add ID", Short: "Register a participant (its deliveries consumer is created)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var sum []byte
			if certSHA != "" {
				b, err := hex.DecodeString(strings.ReplaceAll(certSHA, ":", ""))
				if err != nil || len(b) != 32 {
					return errors.New("--cert-sha256 must be 64 hex digits")
				}
				sum = b
			}
			c, done, err := shepAdmin(t)
			if err != nil {
				return err
			}
			defer done()
			_, err = c.PutParticipant(cmd.Context(), &shepv1.PutParticipantRequest{Participant: &shepv1.Participant{Id: args[0], Title: title, CertificateSha256: sum}})
			if err != nil {
				return grpcError(err)
			}
			fmt.Fprintf(stdout, "participant %s registered\n", args[0])
			return nil
		},
	}
	add.Flags().StringVar(&title, "title", "", "what the system is")
	add.Flags().StringVar(&certSHA, "cert-sha256", "", "pin the system certificate (SHA-256, hex)")
	list := &cobra.Command{
		Use: "list", Short: "List participants", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, done, err := shepAdmin(t)
			if err != nil {
				return err
			}
			defer done()
			resp, err := c.ListParticipants(cmd.Context(), &shepv1.ListParticipantsRequest{})
			if err != nil {
				return grpcError(err)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTITLE\tPINNED CERTIFICATE")
			for _, p := range resp.GetParticipants() {
				pin := "-"
				if len(p.GetCertificateSha256()) > 0 {
					pin = hex.EncodeToString(p.GetCertificateSha256())[:16] + "…"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", p.GetId(), p.GetTitle(), pin)
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(add, list)
	return cmd
}

func shepService(stdout io.Writer, t *target) *cobra.Command {
	cmd := &cobra.Command{Use: "service", Short: "Register or list services"}
	var s shepv1.Service
	var channel string
	add := &cobra.Command{
		Use: "add ID", Short: "Register a service", Args: cobra.ExactArgs(1),
		Example: `  egov shep service add GBDFL_PERSON --provider gbdfl --channel sync --endpoint gbdfl.egov:9030
  egov shep service add GUARDIANSHIP_CERTIFICATE_55 --provider rshep-55 --channel async --region 55`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch channel {
			case "sync":
				s.Channel = shepv1.Channel_CHANNEL_SYNC
			case "async":
				s.Channel = shepv1.Channel_CHANNEL_ASYNC
			default:
				return fmt.Errorf("--channel %q: want sync or async", channel)
			}
			s.Id = args[0]
			c, done, err := shepAdmin(t)
			if err != nil {
				return err
			}
			defer done()
			if _, err := c.PutService(cmd.Context(), &shepv1.PutServiceRequest{Service: &s}); err != nil {
				return grpcError(err)
			}
			fmt.Fprintf(stdout, "service %s registered (%s, provider %s)\n", s.GetId(), channel, s.GetProvider())
			return nil
		},
	}
	add.Flags().StringVar(&s.Provider, "provider", "", "providing participant")
	add.Flags().StringVar(&channel, "channel", "sync", "sync or async")
	add.Flags().StringVar(&s.Endpoint, "endpoint", "", "sync: the provider's gRPC host:port")
	add.Flags().StringVar(&s.Region, "region", "", "region code the provider serves")
	add.Flags().StringVar(&s.Version, "version", "1", "contract version")
	add.Flags().Int32Var(&s.TimeoutMs, "timeout-ms", 10000, "sync: deadline of the provider's answer")
	list := &cobra.Command{
		Use: "list", Short: "List services and who may call them", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, done, err := shepAdmin(t)
			if err != nil {
				return err
			}
			defer done()
			resp, err := c.ListServices(cmd.Context(), &shepv1.ListServicesRequest{})
			if err != nil {
				return grpcError(err)
			}
			callers := map[string][]string{}
			for _, g := range resp.GetGrants() {
				callers[g.GetServiceId()] = append(callers[g.GetServiceId()], g.GetSender())
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tPROVIDER\tCHANNEL\tREGION\tENDPOINT\tGRANTED TO")
			for _, s := range resp.GetServices() {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.GetId(), s.GetProvider(), strings.ToLower(strings.TrimPrefix(s.GetChannel().String(), "CHANNEL_")),
					s.GetRegion(), s.GetEndpoint(), strings.Join(callers[s.GetId()], ","))
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(add, list)
	return cmd
}

func shepGrant(stdout io.Writer, t *target, grant bool) *cobra.Command {
	use, short := "grant SENDER SERVICE", "Allow a participant to call a service (everything else is denied)"
	if !grant {
		use, short = "revoke SENDER SERVICE", "Withdraw a grant"
	}
	return &cobra.Command{
		Use: use, Short: short, Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, done, err := shepAdmin(t)
			if err != nil {
				return err
			}
			defer done()
			if grant {
				_, err = c.Grant(cmd.Context(), &shepv1.GrantRequest{Sender: args[0], ServiceId: args[1]})
			} else {
				_, err = c.Revoke(cmd.Context(), &shepv1.RevokeRequest{Sender: args[0], ServiceId: args[1]})
			}
			if err != nil {
				return grpcError(err)
			}
			fmt.Fprintf(stdout, "%s %s → %s\n", map[bool]string{true: "granted", false: "revoked"}[grant], args[0], args[1])
			return nil
		},
	}
}

func shepDLQ(stdout io.Writer, t *target) *cobra.Command {
	cmd := &cobra.Command{Use: "dlq", Short: "Inspect and replay dead letters (messages given up after their last delivery attempt)"}
	var recipient string
	list := &cobra.Command{
		Use: "list", Short: "List dead letters, oldest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, done, err := shepAdmin(t)
			if err != nil {
				return err
			}
			defer done()
			resp, err := c.ListDeadLetters(cmd.Context(), &shepv1.ListDeadLettersRequest{Recipient: recipient})
			if err != nil {
				return grpcError(err)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tRECIPIENT\tSERVICE\tSENDER\tMESSAGE ID\tDELIVERIES\tDEAD AT")
			for _, d := range resp.GetDeadLetters() {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\n", d.GetSequence(), d.GetRecipient(), d.GetServiceId(), d.GetSender(),
					d.GetMessageId(), d.GetDeliveries(), d.GetDeadAt().AsTime().Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&recipient, "recipient", "", "only this recipient's")
	replay := &cobra.Command{
		Use: "replay SEQ…", Short: "Send dead letters to their recipients again", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, done, err := shepAdmin(t)
			if err != nil {
				return err
			}
			defer done()
			for _, a := range args {
				seq, err := strconv.ParseUint(a, 10, 64)
				if err != nil {
					return fmt.Errorf("%q is not a sequence number", a)
				}
				if _, err := c.ReplayDeadLetter(cmd.Context(), &shepv1.ReplayDeadLetterRequest{Sequence: seq}); err != nil {
					return grpcError(err)
				}
				fmt.Fprintf(stdout, "replayed %d\n", seq)
			}
			return nil
		},
	}
	cmd.AddCommand(list, replay)
	return cmd
}

func shepLog(stdout io.Writer, t *target) *cobra.Command {
	cmd := &cobra.Command{Use: "log", Short: "The message log"}
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the message log: its hash chain, and the chain against every signed, time-stamped checkpoint; exit 1 on any fault",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, done, err := shepAdmin(t)
			if err != nil {
				return err
			}
			defer done()
			v, err := c.VerifyLog(cmd.Context(), &shepv1.VerifyLogRequest{})
			if err != nil {
				return grpcError(err)
			}
			if !v.GetOk() {
				fmt.Fprintf(stdout, "BROKEN (%d records read, %d checkpoints hold):\n", v.GetRecords(), v.GetCheckpoints())
				for _, p := range v.GetProblems() {
					fmt.Fprintf(stdout, "  %s\n", p)
				}
				return fmt.Errorf("message log broken: %s", v.GetProblem())
			}
			fmt.Fprintf(stdout, "OK: %d records, every link holds; %d checkpoints signed by ШЭП and time-stamped by НУЦ", v.GetRecords(), v.GetCheckpoints())
			if v.GetCheckpoints() > 0 {
				fmt.Fprintf(stdout, ", the last through record %d at %s", v.GetAnchoredSeq(), v.GetAnchoredAt().AsTime().Format(time.RFC3339))
			}
			fmt.Fprintln(stdout)
			if n := v.GetRecords() - v.GetAnchoredSeq(); n > 0 {
				fmt.Fprintf(stdout, "records %d..%d are not under a checkpoint yet: their deletion from the end would not show\n",
					v.GetAnchoredSeq()+1, v.GetRecords())
			}
			return nil
		},
	}
	checkpoint := &cobra.Command{
		Use: "checkpoint", Short: "Checkpoint the message log's head now (signed by ШЭП, time-stamped by НУЦ)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, done, err := shepAdmin(t)
			if err != nil {
				return err
			}
			defer done()
			r, err := c.CheckpointLog(cmd.Context(), &shepv1.CheckpointLogRequest{})
			if err != nil {
				return grpcError(err)
			}
			cp := r.GetCheckpoint()
			switch {
			case cp == nil:
				fmt.Fprintln(stdout, "the message log is empty: nothing to checkpoint")
			case !r.GetMade():
				fmt.Fprintf(stdout, "nothing new since checkpoint %d (through record %d)\n", cp.GetNumber(), cp.GetSeq())
			default:
				fmt.Fprintf(stdout, "checkpoint %d: through record %d, head %x…, %s\n", cp.GetNumber(), cp.GetSeq(), cp.GetHead()[:8],
					cp.GetTime().AsTime().Format(time.RFC3339))
			}
			return nil
		},
	}
	cmd.AddCommand(verify, checkpoint)
	return cmd
}
