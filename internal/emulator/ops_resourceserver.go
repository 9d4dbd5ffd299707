package emulator

type resourceServerInput struct {
	Identifier *string
	Name       *string
	Scopes     []struct {
		ScopeName        *string
		ScopeDescription *string
	}
}

type resourceServerOut struct {
	UserPoolId string
	Identifier string
	Name       string
	Scopes     []scope
}

func (rs *resourceServer) out(poolID string) resourceServerOut {
	sc := rs.Scopes
	if sc == nil {
		sc = []scope{}
	}
	return resourceServerOut{UserPoolId: poolID, Identifier: rs.Identifier, Name: rs.Name, Scopes: sc}
}

// fields reads the settable members of a resource server, which the model's
// checks have validated, and refuses duplicate scope names.
func (in *resourceServerInput) fields() (name string, scopes []scope, err error) {
	name = val(in.Name)
	seen := map[string]bool{}
	for _, s := range in.Scopes {
		n, d := val(s.ScopeName), val(s.ScopeDescription)
		if seen[n] {
			return "", nil, invalidParam("Duplicate scope names are not allowed: %s", n)
		}
		seen[n] = true
		scopes = append(scopes, scope{ScopeName: n, ScopeDescription: d})
	}
	return name, scopes, nil
}

func (e *Emulator) createResourceServer(in *resourceServerInput, t target) (any, error) {
	p := t.pool
	id := val(in.Identifier)
	name, scopes, err := in.fields()
	if err != nil {
		return nil, err
	}
	if _, ok := p.ResourceServers[id]; ok {
		return nil, invalidParam("%s already exists in user pool %s.", id, p.ID)
	}
	if len(p.ResourceServers) >= maxResourceServers {
		return nil, newErr(errLimitExceeded, "The limit of %d resource servers per user pool has been reached.", maxResourceServers)
	}
	rs := &resourceServer{Seq: e.st.nextSeq(), Identifier: id, Name: name, Scopes: scopes}
	p.ResourceServers[id] = rs
	p.Modified = e.now()
	return map[string]any{"ResourceServer": rs.out(p.ID)}, nil
}

func (e *Emulator) describeResourceServer(_ *noInput, t target) (any, error) {
	return map[string]any{"ResourceServer": t.rs.out(t.pool.ID)}, nil
}

// opUpdateResourceServer replaces name and scopes: as in Cognito, scopes left
// out of the request are deleted.
func (e *Emulator) updateResourceServer(in *resourceServerInput, t target) (any, error) {
	name, scopes, err := in.fields()
	if err != nil {
		return nil, err
	}
	t.rs.Name, t.rs.Scopes = name, scopes
	t.pool.Modified = e.now()
	return map[string]any{"ResourceServer": t.rs.out(t.pool.ID)}, nil
}

func (e *Emulator) deleteResourceServer(_ *noInput, t target) (any, error) {
	delete(t.pool.ResourceServers, t.rs.Identifier)
	t.pool.Modified = e.now()
	return struct{}{}, nil
}

func (e *Emulator) listResourceServers(in *pageInput, t target) (any, error) {
	return listPage("ResourceServers", t.pool.ResourceServers, func(rs *resourceServer) int64 { return rs.Seq }, in, 50,
		func(rs *resourceServer) resourceServerOut { return rs.out(t.pool.ID) })
}

// scopeExists reports whether a full scope name ("<identifier>/<scope>") is
// defined in the pool, or is one of Cognito's built-in scopes.
func (p *pool) scopeExists(full string) bool {
	if builtinScopes[full] {
		return true
	}
	for id, rs := range p.ResourceServers {
		if len(full) > len(id)+1 && full[:len(id)] == id && full[len(id)] == '/' {
			name := full[len(id)+1:]
			for _, s := range rs.Scopes {
				if s.ScopeName == name {
					return true
				}
			}
		}
	}
	return false
}

// isCustomScope reports whether a scope is a resource server's, not one of
// Cognito's built-in scopes.
func isCustomScope(full string) bool { return !builtinScopes[full] }

var builtinScopes = map[string]bool{
	"openid": true, "email": true, "phone": true, "profile": true, "aws.cognito.signin.user.admin": true,
}
