package relay

// ClientInitials is clientInitials for the tests of package relay_test.
var ClientInitials = clientInitials
