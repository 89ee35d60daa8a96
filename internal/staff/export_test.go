package staff

// HashForBenchmark hashes with the production parameters.
func HashForBenchmark(password string) { _, _ = hashPassword(password, DefaultArgon2) }
