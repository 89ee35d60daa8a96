package i18n_test

import "os"

var testdataFS = os.DirFS(".")
