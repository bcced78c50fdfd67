package store

import "context"

// SetHook sets the store's test hook (see Store.hook).
func (s *Store) SetHook(h func(ctx context.Context, point string) error) { s.hook = h }
