package gateway

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	protoenc "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/services/shep/internal/store"
)

// The sync channel promises a signed answer for every envelope, but gRPC refuses two kinds of request
// before any handler runs: one over the server's receive limit (4 MiB by default) and one whose bytes
// are no SendMessageRequest. So ШЭП's server reads requests up to MaxSyncRequest — an oversized
// envelope below it gets a signed E_OVERSIZE — and takes the sync request's bytes undecoded, decoding
// them itself so that bytes that are no request get a signed E_MALFORMED.
//
// Above MaxSyncRequest the transport still refuses the request (RESOURCE_EXHAUSTED) unread: answering
// it would mean reading it, and an unbounded read is the denial of service the bound is there for.

// MaxSyncRequest is the hard bound of a sync request on the wire: eight times envelope.MaxSize, which is
// what ШЭП accepts, so that a sender who overshoots learns so in a signed answer.
const MaxSyncRequest = 8 << 20

// rawRequest receives a request's bytes as they came.
type rawRequest struct{ b []byte }

// wireCodec is the proto codec, except that a rawRequest takes the bytes undecoded.
type wireCodec struct{ proto encoding.CodecV2 }

func (c wireCodec) Marshal(v any) (mem.BufferSlice, error) { return c.proto.Marshal(v) }

func (c wireCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if r, ok := v.(*rawRequest); ok {
		r.b = data.Materialize()
		return nil
	}
	return c.proto.Unmarshal(data, v)
}

func (c wireCodec) Name() string { return protoenc.Name }

// ServerOptions are the options ШЭП's gRPC server needs for the sync channel's promise.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.MaxRecvMsgSize(MaxSyncRequest), grpc.ForceServerCodecV2(wireCodec{encoding.GetCodecV2(protoenc.Name)})}
}

// Register registers the sync channel on gs with its request decoded by ШЭП (see ServerOptions).
func (s *SyncServer) Register(gs *grpc.Server) {
	desc := shepv1.SyncChannelService_ServiceDesc
	desc.Methods = append([]grpc.MethodDesc(nil), desc.Methods...)
	for i := range desc.Methods {
		if desc.Methods[i].MethodName == "SendMessage" {
			desc.Methods[i].Handler = s.sendRaw
		}
	}
	gs.RegisterService(&desc, s)
}

func (s *SyncServer) sendRaw(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	in := &rawRequest{}
	if err := dec(in); err != nil {
		return nil, err
	}
	// The bytes are decoded inside the handler the interceptors call, so the peer is checked (mutual TLS,
	// revocation, a registered participant) before anything is answered or logged, undecodable bytes too.
	handle := func(ctx context.Context, r any) (any, error) {
		b := r.(*rawRequest).b
		req := &shepv1.SendMessageRequest{}
		if err := proto.Unmarshal(b, req); err != nil {
			return s.undecodable(ctx, b, err)
		}
		return s.SendMessage(ctx, req)
	}
	if interceptor == nil {
		return handle(ctx, in)
	}
	info := &grpc.UnaryServerInfo{Server: srv, FullMethod: shepv1.SyncChannelService_SendMessage_FullMethodName}
	return interceptor(ctx, in, info, handle)
}

// undecodable answers bytes that are no SendMessageRequest: logged and rejected with ШЭП's signature,
// the request_hash being the SHA-256 of the bytes received.
func (s *SyncServer) undecodable(ctx context.Context, b []byte, err error) (*shepv1.SendMessageResponse, error) {
	g := s.g
	rej := reject(CodeMalformed, "not a SendMessageRequest (%d bytes): %v", len(b), err)
	se := &envelopev1.SignedEnvelope{Envelope: b}
	session := newSession()
	g.countRejection(ctx, "sync", rej)
	if err := g.record(ctx, g.logEntry("sync", "REJECTED", nil, se, "", "", session, rej.code, rej.reason), store.Op{}); err != nil {
		g.o.Log.ErrorContext(ctx, "sync: cannot log a rejection", "err", err)
	}
	return g.answer(nil, se, session, rej)
}
