package nifcloud

import (
	"net/url"
	"strconv"
)

// APIVersion is the computing API version sent as Version in every request.
const APIVersion = "3.0"

// Form builds the application/x-www-form-urlencoded body of one request.
//
// It knows the three shapes the computing API uses:
//
//   - EC2-style lists, "Name.N" (N from 1):        f.Strings("InstanceId", ids)
//   - ELB-style lists, "Name.member.N":             f.Members("AvailabilityZones", zones)
//   - nested structs, "Outer.Inner":                f.Sub("HealthCheck").Int("Interval", 10)
//
// and list elements that are themselves structs:
//
//	f.Item("IpPermissions", 0).Item("IpRanges", 0).Str("CidrIp", "10.0.0.0/8")
//	// IpPermissions.1.IpRanges.1.CidrIp=10.0.0.0%2F8
//	f.Member("Listeners", 0).Int("LoadBalancerPort", 80)
//	// Listeners.member.1.LoadBalancerPort=80
//
// A Form returned by Sub, Item or Member writes into the same values as its
// parent. The zero Form is not usable; start from NewForm.
type Form struct {
	values url.Values
	prefix string
}

// NewForm starts the body of action: Action=<action>&Version=3.0.
func NewForm(action string) *Form {
	f := &Form{values: url.Values{}}
	f.values.Set("Action", action)
	f.values.Set("Version", APIVersion)
	return f
}

// Values returns the underlying values (shared, not a copy).
func (f *Form) Values() url.Values { return f.values }

// Encode returns the url-encoded body, keys sorted.
func (f *Form) Encode() string { return f.values.Encode() }

// Action is the Action parameter of the form.
func (f *Form) Action() string { return f.values.Get("Action") }

func (f *Form) key(name string) string { return f.prefix + name }

// Sub scopes f to the nested struct name: keys become "name.<key>".
func (f *Form) Sub(name string) *Form {
	return &Form{values: f.values, prefix: f.key(name) + "."}
}

// Item scopes f to element i (0-based) of the EC2-style list name:
// keys become "name.<i+1>.<key>".
func (f *Form) Item(name string, i int) *Form {
	return &Form{values: f.values, prefix: f.key(name) + "." + strconv.Itoa(i+1) + "."}
}

// Member scopes f to element i (0-based) of the ELB-style list name:
// keys become "name.member.<i+1>.<key>".
func (f *Form) Member(name string, i int) *Form {
	return &Form{values: f.values, prefix: f.key(name) + ".member." + strconv.Itoa(i+1) + "."}
}

// Set writes name=value unconditionally, even when value is empty.
func (f *Form) Set(name, value string) *Form {
	f.values.Set(f.key(name), value)
	return f
}

// Str writes name=value unless value is empty.
func (f *Form) Str(name, value string) *Form {
	if value != "" {
		f.Set(name, value)
	}
	return f
}

// Int writes name=v unless v is zero (no computing parameter uses 0 as a
// meaningful value; use IntAlways where one does).
func (f *Form) Int(name string, v int) *Form {
	if v != 0 {
		f.Set(name, strconv.Itoa(v))
	}
	return f
}

// IntAlways writes name=v, zero included.
func (f *Form) IntAlways(name string, v int) *Form {
	return f.Set(name, strconv.Itoa(v))
}

// Bool writes name=true or name=false.
func (f *Form) Bool(name string, v bool) *Form {
	return f.Set(name, strconv.FormatBool(v))
}

// OptBool writes name=true/false when v is non-nil.
func (f *Form) OptBool(name string, v *bool) *Form {
	if v != nil {
		f.Bool(name, *v)
	}
	return f
}

// Strings writes the EC2-style list name.1=vs[0], name.2=vs[1], ...
func (f *Form) Strings(name string, vs []string) *Form {
	for i, v := range vs {
		f.Set(name+"."+strconv.Itoa(i+1), v)
	}
	return f
}

// Ints writes the EC2-style list name.1, name.2, ... of integers.
func (f *Form) Ints(name string, vs []int) *Form {
	for i, v := range vs {
		f.Set(name+"."+strconv.Itoa(i+1), strconv.Itoa(v))
	}
	return f
}

// Members writes the ELB-style list name.member.1=vs[0], ...
func (f *Form) Members(name string, vs []string) *Form {
	for i, v := range vs {
		f.Set(name+".member."+strconv.Itoa(i+1), v)
	}
	return f
}
