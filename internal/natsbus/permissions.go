package natsbus

import (
	"slices"

	"github.com/nats-io/nats-server/v2/server"

	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
)

// The permission sets of the suite's NATS users live here and nowhere else: the dev mode, the test
// harness and a production NATS configuration all derive them from Access.

// jsAPI is JetStream's API prefix; every stream and consumer operation is a request to a subject under it.
const jsAPI = "$JS.API."

// InboxPrefix is the reply-subject prefix of a user's connection: each user receives its JetStream
// replies on its own inboxes, so it cannot listen to another's.
func InboxPrefix(user string) string { return shepv1.InboxPrefix(user) }

// BucketAccess is what a service may do in the attachments object store.
type BucketAccess int

const (
	// NoBucket: the service does not touch the object store.
	NoBucket BucketAccess = iota
	// ReadBucket: look objects up and read them (АРМ shows the scans).
	ReadBucket
	// WriteBucket: look objects up and add them (the channels keep uploads); never purge or delete.
	WriteBucket
	// ReadWriteBucket: read objects and add them (РШЭП: АРМ shows the scans, the provider's office keeps
	// the scans of the paper it receives); never purge or delete.
	ReadWriteBucket
)

// Access is what one service does on NATS; its NATS user gets exactly the permissions that follow from
// it (Permissions) and nothing else, and it needs exactly the streams that follow from it (Needs).
type Access struct {
	// User names the NATS user and its inbox prefix: the service's name ("shep", "rshep", "portal").
	User string
	// Router is ШЭП's part: take what participants send on SHEP_IN, route to shep.out.>, create the
	// recipients' consumers on SHEP_OUT, move given-up messages to SHEP_DLQ from the advisories.
	Router bool
	// Participants are the ШЭП participants the service acts as: it publishes to their shep.in.<id> and
	// pulls from their consumers on SHEP_OUT (one process of РШЭП serves several regions).
	Participants []string
	// Attachments is its access to the attachments bucket.
	Attachments BucketAccess
}

// RouterAccess is ШЭП's access.
func RouterAccess(user string) Access { return Access{User: user, Router: true} }

// ParticipantAccess is a bare participant's: its own subjects and consumer, nothing else (an adapter of
// a provider, a test playing one).
func ParticipantAccess(participant string) Access {
	return Access{User: participant, Participants: []string{participant}}
}

// ChannelAccess is a channel's (ПЭП, ЦОН): a participant that also stores the uploaded files.
func ChannelAccess(participant string) Access {
	return Access{User: participant, Participants: []string{participant}, Attachments: WriteBucket}
}

// NodeAccess is РШЭП's: the participants of the regions it serves, and the uploaded files: АРМ reads the
// channels' scans, and the provider's office (канцелярия) keeps the scans of the paper it receives
// (added, never purged or deleted, as a channel's).
func NodeAccess(user string, participants []string) Access {
	return Access{User: user, Participants: slices.Clone(participants), Attachments: ReadWriteBucket}
}

// Streams are the streams and buckets the service uses: a restricted service checks at start that they
// exist, as it may not create them.
func (a Access) Streams() (streams, buckets []string) {
	switch {
	case a.Router:
		streams = []string{StreamIn, StreamOut, StreamDLQ, StreamAdvisories, StreamLogCheckpoints}
	case len(a.Participants) > 0:
		streams = []string{StreamIn, StreamOut}
	}
	if a.Attachments != NoBucket {
		buckets = []string{BucketAttachments}
	}
	return streams, buckets
}

// Needs is the part of t this service uses.
func (a Access) Needs(t Topology) Topology {
	streams, buckets := a.Streams()
	var out Topology
	for _, s := range t.Streams {
		if slices.Contains(streams, s.Name) {
			out.Streams = append(out.Streams, s)
		}
	}
	for _, b := range t.Buckets {
		if slices.Contains(buckets, b.Bucket) {
			out.Buckets = append(out.Buckets, b)
		}
	}
	return out
}

// Permissions are the NATS permissions of the service's user. Everything not listed is denied: no user
// but the administrator may create, change, purge or delete a stream; a participant publishes only to
// its own shep.in.<id>, pulls only from its own consumer on SHEP_OUT (whose filter is shep.out.<id>.>),
// acks only that consumer's messages and receives replies only on its own inboxes, so it reaches
// another participant only through ШЭП.
func (a Access) Permissions() *server.Permissions {
	pub := []string{jsAPI + "INFO"}
	streams, buckets := a.Streams()
	for _, s := range streams {
		pub = append(pub, jsAPI+"STREAM.INFO."+s)
	}
	if a.Router {
		// ШЭП also keeps the copies of its message log's checkpoints; reading them back runs an ordered
		// consumer, which it may delete. The stream itself refuses deletes and purges.
		pub = append(pub, SubjectOutPrefix+">", SubjectDLQPrefix+">", SubjectLogCheckpoints,
			jsAPI+"CONSUMER.DELETE."+StreamLogCheckpoints+".>")
		for _, s := range streams {
			pub = append(pub,
				jsAPI+"STREAM.MSG.GET."+s, jsAPI+"STREAM.MSG.DELETE."+s,
				jsAPI+"CONSUMER.CREATE."+s+".>", jsAPI+"CONSUMER.DURABLE.CREATE."+s+".>",
				jsAPI+"CONSUMER.INFO."+s+".>", jsAPI+"CONSUMER.MSG.NEXT."+s+".>",
				"$JS.ACK."+s+".>")
		}
	}
	for _, p := range a.Participants {
		consumer := StreamOut + "." + ConsumerName(p)
		pub = append(pub,
			InSubject(p),
			jsAPI+"CONSUMER.INFO."+consumer,
			jsAPI+"CONSUMER.MSG.NEXT."+consumer,
			"$JS.ACK."+consumer+".>")
	}
	for _, b := range buckets {
		s := "OBJ_" + b // the bucket's stream
		// Looking an object up reads its last meta message directly.
		pub = append(pub, jsAPI+"STREAM.INFO."+s, jsAPI+"DIRECT.GET."+s, jsAPI+"DIRECT.GET."+s+".>", jsAPI+"STREAM.MSG.GET."+s)
		if a.Attachments == ReadBucket || a.Attachments == ReadWriteBucket {
			// Reading an object runs an ordered push consumer over its chunks, with flow control.
			pub = append(pub, jsAPI+"CONSUMER.CREATE."+s, jsAPI+"CONSUMER.CREATE."+s+".>",
				jsAPI+"CONSUMER.INFO."+s+".>", jsAPI+"CONSUMER.DELETE."+s+".>", "$JS.FC.>")
		}
		if a.Attachments == WriteBucket || a.Attachments == ReadWriteBucket {
			pub = append(pub, "$O."+b+".C.>", "$O."+b+".M.>")
		}
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: pub},
		Subscribe: &server.SubjectPermission{Allow: []string{InboxPrefix(a.User) + ".>"}},
	}
}

// NATSUser is the service's NATS user, with password.
func (a Access) NATSUser(password string) *server.User {
	return &server.User{Username: a.User, Password: password, Permissions: a.Permissions()}
}

// ParticipantPermissions are the NATS permissions of a bare participant's user.
func ParticipantPermissions(participant string) *server.Permissions {
	return ParticipantAccess(participant).Permissions()
}

// ParticipantUser is a NATS user for a participant with its permissions.
func ParticipantUser(participant, password string) *server.User {
	return ParticipantAccess(participant).NATSUser(password)
}
