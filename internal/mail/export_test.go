package mail

// TreatAsRemote makes s treat its loopback server as another machine's.
func (s *Sender) TreatAsRemote() { s.remote = true }
