package intake

import "context"

// SetHook sets the intake's test hook (see Intake.hook).
func (in *Intake) SetHook(h func(ctx context.Context, point string) error) { in.hook = h }
