package intake

import "context"

// SetHook sets the rule's test hook, called at the named points of a round inside its transaction
// ("moved: made", "moved: sending").
func (m *Moved) SetHook(h func(ctx context.Context, point string) error) { m.at = h }
