package main

import (
	"github.com/egov-suite/egov/internal/app"
)

// services lists every service of the suite, in start order. It is the one place that names them.
func services() []app.Descriptor {
	return []app.Descriptor{}
}
