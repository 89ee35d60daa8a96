package consent

import "testing"

// TestCatalogStoreKeepsTheNewest replays the race seen in CI: the
// follower reads the catalog just before a write commits; the write's own
// reload publishes the new version; then the follower's slower reload
// arrives with the old one. It must not replace the newer catalog (the
// purpose just written would vanish), while a catalog of the same version
// (a reload after an edit of the tables) still replaces it.
func TestCatalogStoreKeepsTheNewest(t *testing.T) {
	var h catalogHolder
	v1 := &catalog{version: 1}
	v2 := &catalog{version: 2}
	h.store(v1)
	h.store(v2)
	h.store(v1) // the stale reload
	if h.load() != v2 {
		t.Fatalf("the stale catalog (version %d) replaced version 2", h.load().version)
	}
	again := &catalog{version: 2}
	h.store(again)
	if h.load() != again {
		t.Fatal("a reload of the same version was not published")
	}
}
