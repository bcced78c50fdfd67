package natsbus

import (
	"github.com/nats-io/nats-server/v2/server"
)

// InboxPrefix is the reply-subject prefix of a participant's connection: each participant receives its
// JetStream replies on its own inboxes, so it cannot listen to another's.
func InboxPrefix(participant string) string { return "_INBOX_" + participant }

// ParticipantPermissions are the NATS permissions of a participant's user: it may publish only to its
// own shep.in.<self>, pull only from its own consumer on SHEP_OUT (whose filter is shep.out.<self>.>),
// ack only that consumer's messages, and receive replies only on its own inboxes. Everything else — in
// particular another participant's subjects and consumers — is denied, so a participant reaches another
// only through ШЭП.
func ParticipantPermissions(participant string) *server.Permissions {
	consumer := StreamOut + "." + ConsumerName(participant)
	return &server.Permissions{
		Publish: &server.SubjectPermission{Allow: []string{
			InSubject(participant),
			"$JS.API.INFO",
			"$JS.API.CONSUMER.INFO." + consumer,
			"$JS.API.CONSUMER.MSG.NEXT." + consumer,
			"$JS.ACK." + consumer + ".>",
		}},
		Subscribe: &server.SubjectPermission{Allow: []string{InboxPrefix(participant) + ".>"}},
	}
}

// ParticipantUser is a NATS user for a participant with its permissions.
func ParticipantUser(participant, password string) *server.User {
	return &server.User{Username: participant, Password: password, Permissions: ParticipantPermissions(participant)}
}
