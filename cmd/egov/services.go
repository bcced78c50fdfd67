package main

import (
	"errors"

	"github.com/egov-suite/egov/internal/app"
	"github.com/egov-suite/egov/services/eastana"
	"github.com/egov-suite/egov/services/enis"
	"github.com/egov-suite/egov/services/gbdfl"
	"github.com/egov-suite/egov/services/nca"
	"github.com/egov-suite/egov/services/portal"
	"github.com/egov-suite/egov/services/rshep"
	"github.com/egov-suite/egov/services/shep"
	"github.com/egov-suite/egov/services/tson"
)

// services lists every service of the suite, in start order (НУЦ first: the others need certificates).
// It is the one place that names them.
func services() ([]app.Descriptor, error) {
	ncaCfg, err := nca.LoadConfig()
	if err != nil {
		return nil, errors.Join(errors.New("nca"), err)
	}
	shepCfg, err := shep.LoadConfig()
	if err != nil {
		return nil, errors.Join(errors.New("shep"), err)
	}
	gbdflCfg, err := gbdfl.LoadConfig()
	if err != nil {
		return nil, errors.Join(errors.New("gbdfl"), err)
	}
	enisCfg, err := enis.LoadConfig()
	if err != nil {
		return nil, errors.Join(errors.New("enis"), err)
	}
	rshepCfg, err := rshep.LoadConfig()
	if err != nil {
		return nil, errors.Join(errors.New("rshep"), err)
	}
	portalCfg, err := portal.LoadConfig()
	if err != nil {
		return nil, errors.Join(errors.New("portal"), err)
	}
	tsonCfg, err := tson.LoadConfig()
	if err != nil {
		return nil, errors.Join(errors.New("tson"), err)
	}
	eastanaCfg, err := eastana.LoadConfig()
	if err != nil {
		return nil, errors.Join(errors.New("eastana"), err)
	}
	return []app.Descriptor{
		nca.Descriptor(ncaCfg),
		shep.Descriptor(shepCfg),
		gbdfl.Descriptor(gbdflCfg),
		enis.Descriptor(enisCfg),
		rshep.Descriptor(rshepCfg),
		portal.Descriptor(portalCfg),
		tson.Descriptor(tsonCfg),
		eastana.Descriptor(eastanaCfg),
	}, nil
}
