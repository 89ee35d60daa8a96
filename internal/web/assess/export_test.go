package assess

// FormToken is formToken, for the tests of package assess_test.
var FormToken = formToken
