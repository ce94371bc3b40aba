package openstacksim

import (
	"fmt"
	"slices"
)

// RoleAssignment gives a user a role on a project, as `openstack role add
// --user U --project P R` does. The project is the one of that ID or, by
// name, the one in the user's domain; a name no user has as default
// project makes a new project in the user's domain.
type RoleAssignment struct {
	UserID      string `json:"user_id"`   // or UserName
	UserName    string `json:"user_name"` // unique across domains when used
	ProjectID   string `json:"project_id"`
	ProjectName string `json:"project_name"`
	Role        string `json:"role"`
}

// project is a Keystone project known to the simulator.
type project struct {
	ID, Name, DomainID, DomainName string
}

// defaultRoles are the roles of a user on its default project when the
// seed names none: what a devstack admin has.
func defaultRoles() []string { return []string{"admin", "member"} }

// initRoleAssignments resolves each assignment to user and project IDs.
func (s *Sim) initRoleAssignments() error {
	// projects() reads the assignments resolved so far
	in := s.opts.RoleAssignments
	s.opts.RoleAssignments = nil
	for i := range in {
		ra := in[i]
		if ra.Role == "" {
			return fmt.Errorf("openstacksim: role assignment %d has no role", i)
		}
		u, err := s.assignedUser(&ra)
		if err != nil {
			return fmt.Errorf("openstacksim: role assignment %d: %w", i, err)
		}
		ra.UserID, ra.UserName = u.ID, u.Name
		p, ok := s.findProject(ra.ProjectID, ra.ProjectName, u.DomainID)
		switch {
		case ok:
		case ra.ProjectName == "":
			return fmt.Errorf("openstacksim: role assignment %d: unknown project %q (give project_name to create one)", i, ra.ProjectID)
		default:
			p = project{ID: ra.ProjectID, Name: ra.ProjectName, DomainID: u.DomainID, DomainName: u.DomainName}
			if p.ID == "" {
				p.ID = stableID("project", u.DomainID+"/"+ra.ProjectName)
			}
		}
		ra.ProjectID, ra.ProjectName = p.ID, p.Name
		s.opts.RoleAssignments = append(s.opts.RoleAssignments, ra)
	}
	return nil
}

func (s *Sim) assignedUser(ra *RoleAssignment) (*User, error) {
	if ra.UserID != "" {
		if u := s.userByID(ra.UserID); u != nil {
			return u, nil
		}
		return nil, fmt.Errorf("unknown user id %q", ra.UserID)
	}
	var found *User
	for i := range s.users {
		if s.users[i].Name == ra.UserName {
			if found != nil {
				return nil, fmt.Errorf("user name %q is in several domains; give user_id", ra.UserName)
			}
			found = &s.users[i]
		}
	}
	if found == nil {
		return nil, fmt.Errorf("unknown user %q", ra.UserName)
	}
	return found, nil
}

// projects lists every project: the users' default ones and the assigned.
func (s *Sim) projects() []project {
	var out []project
	add := func(p project) {
		for _, q := range out {
			if q.ID == p.ID {
				return
			}
		}
		out = append(out, p)
	}
	for _, u := range s.users {
		add(project{ID: u.ProjectID, Name: u.ProjectName, DomainID: u.DomainID, DomainName: u.DomainName})
	}
	for _, ra := range s.opts.RoleAssignments {
		if u := s.userByID(ra.UserID); u != nil && ra.ProjectID != "" {
			add(project{ID: ra.ProjectID, Name: ra.ProjectName, DomainID: u.DomainID, DomainName: u.DomainName})
		}
	}
	return out
}

// findProject finds a project by ID, or by name within a domain.
func (s *Sim) findProject(id, name, domainID string) (project, bool) {
	for _, p := range s.projects() {
		if (id != "" && p.ID == id) || (id == "" && name != "" && p.Name == name && p.DomainID == domainID) {
			return p, true
		}
	}
	return project{}, false
}

// projectByID returns the project of that ID; unknown IDs yield a project
// named by its ID so old persisted tokens still render.
func (s *Sim) projectByID(id string) project {
	if p, ok := s.findProject(id, "", ""); ok {
		return p
	}
	return project{ID: id, Name: id}
}

// rolesOn returns the names of the user's roles on a project.
func (s *Sim) rolesOn(u *User, projectID string) []string {
	var roles []string
	if u == nil || projectID == "" {
		return nil
	}
	if projectID == u.ProjectID {
		roles = append(roles, u.Roles...)
		if u.Roles == nil {
			roles = defaultRoles()
		}
	}
	for _, ra := range s.opts.RoleAssignments {
		if ra.UserID == u.ID && ra.ProjectID == projectID && !slices.Contains(roles, ra.Role) {
			roles = append(roles, ra.Role)
		}
	}
	return roles
}

// mayInspect is Keystone's default rule for validating or revoking a
// token: an admin or service caller, or the token's own bearer.
func (s *Sim) mayInspect(caller, subject *Token, allowService bool) bool {
	if caller.ID == subject.ID {
		return true
	}
	roles := s.rolesOn(s.userByID(caller.UserID), caller.ProjectID)
	return slices.Contains(roles, "admin") || (allowService && slices.Contains(roles, "service"))
}
