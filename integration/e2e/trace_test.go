package e2e

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// span is what the stdout trace exporter writes of a span, one JSON object a line.
type span struct {
	Name        string
	SpanContext struct {
		TraceID string
	}
	Attributes []keyValue
	// Resource is the process's: service.name says which.
	Resource []keyValue
}

type keyValue struct {
	Key   string
	Value struct {
		Value any
	}
}

func (s span) attr(key string) string { return value(s.Attributes, key) }

func value(kvs []keyValue, key string) string {
	for _, a := range kvs {
		if a.Key == key {
			v, _ := a.Value.Value.(string)
			return v
		}
	}
	return ""
}

// spans reads the spans a process has exported so far from its log.
func spans(log string) []span {
	var out []span
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 8<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !strings.Contains(string(line), `"SpanContext"`) {
			continue
		}
		var s span
		if json.Unmarshal(line, &s) == nil && s.Name != "" {
			out = append(out, s)
		}
	}
	return out
}

// traceOf waits until the spans of an application's trace are exported by every process it crossed:
// the channel's publication and status spans, ШЭП's routing both ways, РШЭП's intake and notification,
// and the registry look-ups РШЭП's checks make through ШЭП's sync channel (they started traces of their
// own before). It returns the span names by service, and fails when a process's spans do not name it
// (service.name egov-<service>: every process said "egov" before).
func (w *world) traceOf(t *testing.T, application, channel string) map[string][]string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var id string
		for _, s := range spans(w.s.Process(channel).Stderr()) {
			if s.Name == "applicant.send" && s.attr("egov.application_id") == application {
				id = s.SpanContext.TraceID
			}
		}
		got := map[string][]string{}
		if id != "" {
			for _, svc := range []string{channel, "shep", "rshep"} {
				for _, s := range spans(w.s.Process(svc).Stderr()) {
					if s.SpanContext.TraceID == id {
						got[svc] = append(got[svc], s.Name)
						if name := value(s.Resource, "service.name"); name != "egov-"+svc {
							t.Fatalf("span %s of %s reports service.name %q", s.Name, svc, name)
						}
					}
				}
			}
		}
		if has(got[channel], "applicant.send", "applicant.status") && has(got["rshep"], "rshep.intake", "rshep.notify") &&
			count(got["shep"], "shep.route") >= 2 && count(got["shep"], "egov.shep.v1.SyncChannelService/SendMessage") >= 1 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("application %s: trace %q incomplete: %v", application, id, got)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func has(names []string, want ...string) bool {
	for _, w := range want {
		if count(names, w) == 0 {
			return false
		}
	}
	return true
}

func count(names []string, want string) int {
	n := 0
	for _, x := range names {
		if x == want {
			n++
		}
	}
	return n
}
