package nifcloud

import (
	"sort"
	"strings"
)

// portPair is a listener's (load balancer port, instance port).
type portPair struct{ Port, InstancePort int }

// portMove changes the instance port of an existing listener in place
// (the NodePort changed): registrations and filters survive, and no two
// listeners ever share a load balancer port.
type portMove struct {
	From portPair
	To   portSpec
}

// portPlan is what turns the current listeners into the desired ones.
type portPlan struct {
	Moves  []portMove
	Add    []portSpec
	Remove []portPair
}

func (pl portPlan) empty() bool { return len(pl.Moves)+len(pl.Add)+len(pl.Remove) == 0 }

// planPorts compares desired ports with current listeners. Listeners
// matching exactly are kept; a current listener on a desired load
// balancer port with another instance port is moved; the rest is added
// or removed.
func planPorts(want []portSpec, have []portPair) portPlan {
	exact := map[portPair]bool{}
	byPort := map[int][]portPair{}
	for _, h := range have {
		exact[h] = true
		byPort[h.Port] = append(byPort[h.Port], h)
	}
	used := map[portPair]bool{}
	var pl portPlan
	var rest []portSpec
	for _, w := range want {
		k := portPair{w.Port, w.InstancePort}
		if exact[k] {
			used[k] = true
			continue
		}
		rest = append(rest, w)
	}
	for _, w := range rest {
		moved := false
		for _, h := range byPort[w.Port] {
			if !used[h] {
				used[h] = true
				pl.Moves = append(pl.Moves, portMove{From: h, To: w})
				moved = true
				break
			}
		}
		if !moved {
			pl.Add = append(pl.Add, w)
		}
	}
	for _, h := range have {
		if !used[h] {
			pl.Remove = append(pl.Remove, h)
		}
	}
	return pl
}

// diffSet returns the members of want missing from have and those of
// have missing from want, both sorted.
func diffSet(want, have []string) (add, remove []string) {
	w, h := toSet(want), toSet(have)
	for k := range w {
		if !h[k] {
			add = append(add, k)
		}
	}
	for k := range h {
		if !w[k] {
			remove = append(remove, k)
		}
	}
	sort.Strings(add)
	sort.Strings(remove)
	return add, remove
}

func toSet(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

// sameTarget compares health check targets ("TCP:80", "ICMP") ignoring case.
func sameTarget(a, b string) bool { return strings.EqualFold(a, b) }
