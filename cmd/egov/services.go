package main

import (
	"errors"

	"github.com/egov-suite/egov/internal/app"
	"github.com/egov-suite/egov/services/nca"
)

// services lists every service of the suite, in start order (НУЦ first: the others need certificates).
// It is the one place that names them.
func services() ([]app.Descriptor, error) {
	ncaCfg, err := nca.LoadConfig()
	if err != nil {
		return nil, errors.Join(errors.New("nca"), err)
	}
	return []app.Descriptor{
		nca.Descriptor(ncaCfg),
	}, nil
}
