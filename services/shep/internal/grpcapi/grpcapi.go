// Package grpcapi serves ШЭП's admin API and the query side of the async channel.
package grpcapi

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/internal/mtls"
	"github.com/egov-suite/egov/internal/natsbus"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/services/shep/internal/gateway"
	"github.com/egov-suite/egov/services/shep/internal/store"
)

// Admin implements ShepAdminService.
type Admin struct {
	shepv1.UnimplementedShepAdminServiceServer
	g   *gateway.Gateway
	log *slog.Logger
}

// NewAdmin returns the admin API.
func NewAdmin(g *gateway.Gateway, log *slog.Logger) *Admin { return &Admin{g: g, log: log} }

func (a *Admin) fail(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	a.log.Error("admin", "err", err)
	return status.Error(codes.Internal, "ШЭП registry error")
}

// PutParticipant implements the API and creates the participant's delivery consumer.
func (a *Admin) PutParticipant(ctx context.Context, r *shepv1.PutParticipantRequest) (*shepv1.PutParticipantResponse, error) {
	p := r.GetParticipant()
	if err := natsbus.ValidToken(p.GetId()); err != nil || !validParticipant(p.GetId()) {
		return nil, status.Errorf(codes.InvalidArgument, "participant id %q: lower-case Latin letters, digits and '-', 1 to 64", p.GetId())
	}
	if n := len(p.GetCertificateSha256()); n != 0 && n != 32 {
		return nil, status.Error(codes.InvalidArgument, "certificate_sha256 must be 32 bytes")
	}
	if err := a.g.Store().PutParticipant(ctx, store.Participant{ID: p.GetId(), Title: p.GetTitle(), CertificateSHA256: p.GetCertificateSha256()}); err != nil {
		return nil, a.fail(err)
	}
	if err := a.g.EnsureRecipient(ctx, p.GetId()); err != nil {
		return nil, a.fail(err)
	}
	a.g.InvalidateRegistry()
	return &shepv1.PutParticipantResponse{}, nil
}

func validParticipant(id string) bool {
	for _, r := range id {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return id != "" && len(id) <= 64
}

// ListParticipants implements the API.
func (a *Admin) ListParticipants(ctx context.Context, _ *shepv1.ListParticipantsRequest) (*shepv1.ListParticipantsResponse, error) {
	ps, err := a.g.Store().Participants(ctx)
	if err != nil {
		return nil, a.fail(err)
	}
	out := &shepv1.ListParticipantsResponse{}
	for _, p := range ps {
		out.Participants = append(out.Participants, &shepv1.Participant{Id: p.ID, Title: p.Title,
			CertificateSha256: p.CertificateSHA256, CreatedAt: timestamppb.New(p.CreatedAt)})
	}
	return out, nil
}

// PutService implements the API.
func (a *Admin) PutService(ctx context.Context, r *shepv1.PutServiceRequest) (*shepv1.PutServiceResponse, error) {
	s := r.GetService()
	if err := natsbus.ValidToken(s.GetId()); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "service id: %v", err)
	}
	v := store.Service{ID: s.GetId(), Provider: s.GetProvider(), Version: s.GetVersion(), Region: s.GetRegion(),
		Endpoint: s.GetEndpoint(), TimeoutMS: s.GetTimeoutMs()}
	switch s.GetChannel() {
	case shepv1.Channel_CHANNEL_SYNC:
		v.Channel = "sync"
		if v.Endpoint == "" {
			return nil, status.Error(codes.InvalidArgument, "a sync service needs the provider's endpoint (host:port)")
		}
	case shepv1.Channel_CHANNEL_ASYNC:
		v.Channel = "async"
	default:
		return nil, status.Error(codes.InvalidArgument, "channel must be SYNC or ASYNC")
	}
	if v.Version == "" {
		v.Version = "1"
	}
	if v.TimeoutMS == 0 {
		v.TimeoutMS = 10000
	}
	if v.TimeoutMS < 0 {
		return nil, status.Error(codes.InvalidArgument, "timeout_ms must be positive")
	}
	ps, err := a.g.Store().Participants(ctx)
	if err != nil {
		return nil, a.fail(err)
	}
	known := false
	for _, p := range ps {
		known = known || p.ID == v.Provider
	}
	if !known {
		return nil, status.Errorf(codes.FailedPrecondition, "provider %q is not a registered participant", v.Provider)
	}
	if err := a.g.Store().PutService(ctx, v); err != nil {
		return nil, a.fail(err)
	}
	a.g.InvalidateRegistry()
	return &shepv1.PutServiceResponse{}, nil
}

// ListServices implements the API.
func (a *Admin) ListServices(ctx context.Context, _ *shepv1.ListServicesRequest) (*shepv1.ListServicesResponse, error) {
	ss, err := a.g.Store().Services(ctx)
	if err != nil {
		return nil, a.fail(err)
	}
	gs, err := a.g.Store().Grants(ctx)
	if err != nil {
		return nil, a.fail(err)
	}
	out := &shepv1.ListServicesResponse{}
	for _, s := range ss {
		ch := shepv1.Channel_CHANNEL_ASYNC
		if s.Channel == "sync" {
			ch = shepv1.Channel_CHANNEL_SYNC
		}
		out.Services = append(out.Services, &shepv1.Service{Id: s.ID, Provider: s.Provider, Channel: ch, Version: s.Version,
			Region: s.Region, Endpoint: s.Endpoint, TimeoutMs: s.TimeoutMS})
	}
	for _, g := range gs {
		out.Grants = append(out.Grants, &shepv1.GrantRequest{Sender: g[0], ServiceId: g[1]})
	}
	return out, nil
}

// Grant implements the API.
func (a *Admin) Grant(ctx context.Context, r *shepv1.GrantRequest) (*shepv1.GrantResponse, error) {
	if r.GetSender() == "" || r.GetServiceId() == "" {
		return nil, status.Error(codes.InvalidArgument, "sender and service_id are required")
	}
	if err := a.g.Store().Grant(ctx, r.GetSender(), r.GetServiceId()); err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "grant %s → %s: both must be registered", r.GetSender(), r.GetServiceId())
	}
	a.g.InvalidateRegistry()
	return &shepv1.GrantResponse{}, nil
}

// Revoke implements the API.
func (a *Admin) Revoke(ctx context.Context, r *shepv1.RevokeRequest) (*shepv1.RevokeResponse, error) {
	if err := a.g.Store().Revoke(ctx, r.GetSender(), r.GetServiceId()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, status.Errorf(codes.NotFound, "%s has no grant for %s", r.GetSender(), r.GetServiceId())
		}
		return nil, a.fail(err)
	}
	a.g.InvalidateRegistry()
	return &shepv1.RevokeResponse{}, nil
}

// ListDeadLetters implements the API.
func (a *Admin) ListDeadLetters(ctx context.Context, r *shepv1.ListDeadLettersRequest) (*shepv1.ListDeadLettersResponse, error) {
	ds, err := a.g.ListDeadLetters(ctx, r.GetRecipient())
	if err != nil {
		return nil, a.fail(err)
	}
	out := &shepv1.ListDeadLettersResponse{}
	for _, d := range ds {
		out.DeadLetters = append(out.DeadLetters, &shepv1.DeadLetter{Sequence: d.Seq, Recipient: d.Recipient, ServiceId: d.Service,
			MessageId: d.MessageID, Sender: d.Sender, Deliveries: int32(d.Deliveries), DeadAt: timestamppb.New(d.DeadAt)})
	}
	return out, nil
}

// ReplayDeadLetter implements the API.
func (a *Admin) ReplayDeadLetter(ctx context.Context, r *shepv1.ReplayDeadLetterRequest) (*shepv1.ReplayDeadLetterResponse, error) {
	if err := a.g.ReplayDeadLetter(ctx, r.GetSequence()); err != nil {
		return nil, status.Errorf(codes.NotFound, "dead letter %d: %v", r.GetSequence(), err)
	}
	return &shepv1.ReplayDeadLetterResponse{}, nil
}

// VerifyLog implements the API.
func (a *Admin) VerifyLog(ctx context.Context, _ *shepv1.VerifyLogRequest) (*shepv1.VerifyLogResponse, error) {
	v, err := a.g.VerifyLog(ctx)
	if err != nil {
		return nil, a.fail(err)
	}
	out := &shepv1.VerifyLogResponse{Records: v.Records, Ok: len(v.Problems) == 0, FirstBroken: v.FirstBroken,
		Checkpoints: v.Checkpoints, AnchoredSeq: v.AnchoredSeq, Problems: v.Problems}
	if len(v.Problems) > 0 {
		out.Problem = v.Problems[0]
	}
	if v.Checkpoints > 0 {
		out.AnchoredAt = timestamppb.New(v.AnchoredAt)
	}
	return out, nil
}

// CheckpointLog implements the API. A TSA that does not answer is Unavailable: the checkpoint is
// retried by the worker.
func (a *Admin) CheckpointLog(ctx context.Context, _ *shepv1.CheckpointLogRequest) (*shepv1.CheckpointLogResponse, error) {
	c, made, err := a.g.Checkpoint(ctx)
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "checkpoint not made (the worker retries it): %v", err)
	}
	out := &shepv1.CheckpointLogResponse{Made: made}
	if c.Number > 0 {
		out.Checkpoint = gateway.CheckpointProto(c)
	}
	return out, nil
}

// Async implements the query side of the async channel.
type Async struct {
	shepv1.UnimplementedAsyncChannelServiceServer
	g *gateway.Gateway
}

// NewAsync returns it.
func NewAsync(g *gateway.Gateway) *Async { return &Async{g: g} }

// GetMessageStatus implements the API.
func (s *Async) GetMessageStatus(ctx context.Context, r *shepv1.GetMessageStatusRequest) (*shepv1.GetMessageStatusResponse, error) {
	if r.GetSender() == "" || r.GetMessageId() == "" {
		return nil, status.Error(codes.InvalidArgument, "sender and message_id are required")
	}
	// A participant reads the status of its own messages only.
	if p, ok := mtls.PeerFrom(ctx); ok && p.Holder.Name != r.GetSender() {
		return nil, status.Errorf(codes.PermissionDenied, "%s may not read the messages of %s", p.Name(), r.GetSender())
	}
	n, err := s.g.MessageStatus(ctx, r.GetSender(), r.GetMessageId())
	if errors.Is(err, store.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "no message %s from %s", r.GetMessageId(), r.GetSender())
	}
	if err != nil {
		return nil, status.Error(codes.Internal, "ШЭП status error")
	}
	return &shepv1.GetMessageStatusResponse{Notification: n}, nil
}
