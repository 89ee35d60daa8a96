package db

// ExpandCommon lets the external tests apply a common migration's words to
// both engines.
var ExpandCommon = expandCommon
