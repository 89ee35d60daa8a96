package incident

import "time"

// Statute is one US state's breach notification law, as data: whom it
// protects (residents of Jurisdiction, a code such as "US-CA"), which data
// categories make a breach notifiable under it, how long the law allows
// before the residents and the state's regulator are told, and from how
// many affected residents the regulator must be told.
type Statute struct {
	Jurisdiction string `json:"jurisdiction"`
	// Citation names the statute.
	Citation string `json:"citation"`
	// Categories are Steward's data categories whose breach the law's
	// definition of personal information covers (with a name).
	Categories []string `json:"categories"`
	// Individuals is the longest the law allows to tell residents, from
	// awareness; 0 means "in the most expedient time possible and without
	// unreasonable delay", with no fixed number of days.
	Individuals time.Duration `json:"individuals"`
	// Regulator names the authority told; RegulatorThreshold is the number
	// of affected residents from which it must be (1: any breach);
	// RegulatorWithin is its deadline from awareness (0: none fixed, or at
	// the time residents are told).
	Regulator          string        `json:"regulator"`
	RegulatorThreshold int           `json:"regulator_threshold"`
	RegulatorWithin    time.Duration `json:"regulator_within"`
}

const day = 24 * time.Hour

// notifiableUS are the categories that US state laws' definitions of
// personal information cover when combined with a name: government ids
// (SSN, driver's licence), financial accounts with their codes, medical
// and health insurance data, biometric data. Steward's "contact" and
// "identifier" categories alone are not covered; online credentials
// (covered by several states) have no category of their own in Steward.
var notifiableUS = []string{"government_id", "financial", "health", "biometric"}

// DefaultStatutes is a small table of US state breach laws: seven states,
// summarised from the statutes' texts as amended up to 2025. It is not
// legal advice and not complete: other states have laws of their own,
// sector laws (HIPAA, GLBA) are not covered, and the definitions of
// personal information differ in detail from the categories named. Check
// the statute before relying on a row; replace the table through
// Config.Statutes.
func DefaultStatutes() []Statute {
	return []Statute{
		{Jurisdiction: "US-CA", Citation: "Cal. Civ. Code § 1798.82", Categories: notifiableUS,
			Regulator: "California Attorney General (sample notice)", RegulatorThreshold: 501},
		{Jurisdiction: "US-CO", Citation: "Colo. Rev. Stat. § 6-1-716", Categories: notifiableUS, Individuals: 30 * day,
			Regulator: "Colorado Attorney General", RegulatorThreshold: 500, RegulatorWithin: 30 * day},
		{Jurisdiction: "US-FL", Citation: "Fla. Stat. § 501.171", Categories: notifiableUS, Individuals: 30 * day,
			Regulator: "Florida Department of Legal Affairs", RegulatorThreshold: 500, RegulatorWithin: 30 * day},
		{Jurisdiction: "US-MA", Citation: "Mass. Gen. Laws ch. 93H § 3", Categories: notifiableUS,
			Regulator: "Massachusetts Attorney General and OCABR", RegulatorThreshold: 1},
		{Jurisdiction: "US-NY", Citation: "N.Y. Gen. Bus. Law § 899-aa", Categories: notifiableUS, Individuals: 30 * day,
			Regulator: "New York Attorney General, Department of State and State Police", RegulatorThreshold: 1},
		{Jurisdiction: "US-TX", Citation: "Tex. Bus. & Com. Code § 521.053", Categories: notifiableUS, Individuals: 60 * day,
			Regulator: "Texas Attorney General", RegulatorThreshold: 250, RegulatorWithin: 30 * day},
		{Jurisdiction: "US-WA", Citation: "Wash. Rev. Code § 19.255.010", Categories: notifiableUS, Individuals: 30 * day,
			Regulator: "Washington Attorney General", RegulatorThreshold: 501, RegulatorWithin: 30 * day},
	}
}
