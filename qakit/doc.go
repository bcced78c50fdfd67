// Package qakit is the suite's kit for QA teams and load tools: it starts the suite (Start: every
// service its own `egov run` process against a real NATS server and PostgreSQL cluster, as the
// integration tests run it) or attaches to one already running (Attach: the endpoints.json that
// `egov dev` or Start writes), and plays the people over plain HTTP the way a browser without
// JavaScript would: a citizen on the portal (ПЭП), an operator at the ЦОН desk, the clerk, officer and
// head in АРМ РШЭП. People sign with the demo key files of the suite's dev folder (keys/*.p12) the
// way NCALayer would (a detached CMS made on the person's side, pasted into the form's signature
// field), so the servers see exactly what a browser sends.
//
// The integration tests, `egov loadgen` and the QA example (examples/qa) all drive the suite through
// it; package qakittest binds it to a *testing.T.
package qakit
