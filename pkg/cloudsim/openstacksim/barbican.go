package openstacksim

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

// Barbican (key-manager v1), as far as Octavia and the CCM use it: TLS
// certificate containers and secrets are looked up by their reference
// (https://<barbican>/v1/containers/<uuid>). Content is not served:
// nothing here needs the keys.

// TLSContainer is a Barbican certificate container (or a PKCS#12 secret).
type TLSContainer struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Kind    string    `json:"kind"` // "containers" or "secrets"
	Created time.Time `json:"created"`
}

const barbicanPrefix = "/key-manager/v1"

// barbicanTime is Barbican's timestamp format (no zone; gophercloud
// refuses a Z).
const barbicanTime = "2006-01-02T15:04:05"

func (s *Sim) barbicanRoutes(mux *http.ServeMux) {
	s.handle(mux, "GET /key-manager/{$}", svcBarbican, "barbican.version_list", false, s.barbicanVersions)
	s.handle(mux, "GET "+barbicanPrefix+"/containers/{id}", svcBarbican, "barbican.container_get", true, s.tlsGet("containers"))
	s.handle(mux, "GET "+barbicanPrefix+"/secrets/{id}", svcBarbican, "barbican.secret_get", true, s.tlsGet("secrets"))
}

// barbicanVersions answers like Barbican's root: 300 with versions.values.
func (s *Sim) barbicanVersions(w http.ResponseWriter, r *http.Request, _ *Token) {
	simcore.WriteJSON(w, http.StatusMultipleChoices, M{"versions": M{"values": []M{{"id": "v1", "status": "stable",
		"links":       []M{{"rel": "self", "href": baseURL(r) + barbicanPrefix + "/"}},
		"media-types": []M{{"base": "application/json", "type": "application/vnd.openstack.key-manager-v1+json"}}}}}})
}

func (s *Sim) tlsGet(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ *Token) {
		var c *TLSContainer
		s.read(func() { c = s.state.TLSContainers[r.PathValue("id")] })
		if c == nil || c.Kind != kind {
			what := map[string]string{"containers": "container", "secrets": "secret"}[kind]
			// Barbican's own (in)famous wording.
			simcore.WriteJSON(w, http.StatusNotFound, M{"code": 404, "title": "Not Found",
				"description": "Not Found. Sorry but your " + what + " is in another castle."})
			return
		}
		ref := baseURL(r) + barbicanPrefix + "/" + kind + "/" + c.ID
		v := M{"name": c.Name, "status": "ACTIVE", "created": c.Created.UTC().Format(barbicanTime), "updated": c.Created.UTC().Format(barbicanTime),
			"creator_id": s.users[0].ID}
		if kind == "containers" {
			v["container_ref"], v["type"], v["secret_refs"], v["consumers"] = ref, "certificate", []M{}, []M{}
		} else {
			v["secret_ref"], v["secret_type"], v["algorithm"], v["bit_length"], v["mode"] = ref, "opaque", nil, nil, nil
			v["content_types"], v["expiration"] = M{"default": "application/octet-stream"}, nil
		}
		simcore.WriteJSON(w, http.StatusOK, v)
	}
}

// AddTLSContainer stores a certificate container (kind "containers") or
// secret ("secrets") and returns its ID.
func (s *Sim) AddTLSContainer(name, kind string) (string, error) {
	if kind != "containers" && kind != "secrets" {
		return "", fmt.Errorf("openstacksim: TLS container kind %q (want containers or secrets)", kind)
	}
	c := &TLSContainer{ID: newUUID(), Name: name, Kind: kind}
	s.mutate(func() {
		c.Created = s.now()
		s.state.TLSContainers[c.ID] = c
	})
	return c.ID, nil
}

// tlsRefKnownLocked says whether a container or secret reference names a
// stored one, as Octavia checks a listener's certificate with Barbican.
func (s *Sim) tlsRefKnownLocked(ref string) bool {
	i := strings.LastIndex(ref, "/")
	if i < 0 {
		return false
	}
	c := s.state.TLSContainers[ref[i+1:]]
	return c != nil && strings.HasSuffix(ref[:i], "/"+c.Kind)
}
