package intake

import "context"

// SetHook sets the intake's test hook (see Intake.hook).
func (in *Intake) SetHook(h func(ctx context.Context, point string) error) { in.hook = h }

// SetHook sets the rule's test hook, called at the named points of a round inside its transaction
// ("moved: made").
func (m *Moved) SetHook(h func(ctx context.Context, point string) error) { m.at = h }
