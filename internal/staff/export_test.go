package staff

// HashForBenchmark hashes with the production parameters.
func HashForBenchmark(password string) { _, _ = hashPassword(password, DefaultArgon2) }

// SetHashHook makes every password hash of s run hook first, in its slot:
// tests hold the slots with it.
func SetHashHook(s *Service, hook func()) { s.hashHook = hook }
