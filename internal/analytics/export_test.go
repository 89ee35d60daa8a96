package analytics

// DeriveRollupsForTest fills the rollup tables other than consent_rollups
// from it, as a rebuild does.
var DeriveRollupsForTest = deriveRollups

// TableForTest is the table an aggregate on dims reads.
var TableForTest = table
