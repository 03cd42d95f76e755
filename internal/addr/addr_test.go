package addr

import "testing"

func TestParseRoundTrip(t *testing.T) {
	for _, a := range []Address{
		Connection("acme-api", "prod_org"),
		Authorization("acme-api", "ci_auth"),
		Target("acme-api", "events_dc", "Order_Events"),
		Publication("acme-api", "prod_org", "AcmeAPI"),
	} {
		p, err := Parse(string(a))
		if err != nil {
			t.Fatalf("Parse(%s): %v", a, err)
		}
		var back Address
		switch p.Kind {
		case KindConnection:
			back = Connection(p.App, p.Name)
		case KindAuthorization:
			back = Authorization(p.App, p.Name)
		case KindTarget:
			back = Target(p.App, p.Connection, p.Name)
		case KindPublication:
			back = Publication(p.App, p.Connection, p.Name)
		}
		if back != a {
			t.Errorf("%s parsed to %+v, rebuilt as %s", a, p, back)
		}
	}
}

func TestParseRefusesMalformed(t *testing.T) {
	for _, s := range []string{"", "acme", "acme/connection", "acme/connection/", "/connection/x",
		"acme/app/x", "acme/connection/x/target", "acme/authorization/x/target/y", "acme/connection/x/y/z"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
}

func TestParent(t *testing.T) {
	tgt := Target("acme-api", "events_dc", "Order_Events")
	if tgt.Parent() != Connection("acme-api", "events_dc") || Connection("a", "b").Parent() != "" {
		t.Fatal("wrong parents")
	}
}
