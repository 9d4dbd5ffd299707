package emulator

// operation is one control-plane operation, in two halves. The first checks
// the request against the input shape in AWS's model and decodes it, and runs
// without the lock; the second, which it returns, runs under e.mu.
type operation func(op string, body []byte) (locked func(e *Emulator) (any, error), err error)

// find is what an operation acts on: the wrapper finds it, and answers
// Cognito's ResourceNotFoundException itself when it does not exist.
type find int

const (
	findNothing        find = iota // the operation finds what it needs itself
	findPool                       // the user pool named by UserPoolId
	findClient                     // the pool, and its app client named by ClientId
	findResourceServer             // the pool, and its resource server named by Identifier
)

// target is what a request names, found before the operation runs.
type target struct {
	pool   *pool
	client *appClient
	rs     *resourceServer
}

// ref is the members by which a request names what it acts on.
type ref struct{ UserPoolId, ClientId, Identifier *string }

// handle makes an operation of fn: it validates and decodes the request into
// an In, finds what the request names, and hands both to fn, under e.mu.
func handle[In any](f find, fn func(e *Emulator, in *In, t target) (any, error)) operation {
	return func(op string, body []byte) (func(*Emulator) (any, error), error) {
		if err := validateInput(op, body); err != nil {
			return nil, err
		}
		in := new(In)
		if err := decode(body, in); err != nil {
			return nil, err
		}
		var r ref
		if f != findNothing {
			if err := decode(body, &r); err != nil {
				return nil, err
			}
		}
		return func(e *Emulator) (any, error) {
			t, err := e.findLocked(f, r)
			if err != nil {
				return nil, err
			}
			return fn(e, in, t)
		}, nil
	}
}

// findLocked finds what r names, as far as f asks; the caller holds e.mu.
func (e *Emulator) findLocked(f find, r ref) (target, error) {
	if f == findNothing {
		return target{}, nil
	}
	pid := val(r.UserPoolId)
	p, ok := e.st.Pools[pid]
	if !ok {
		return target{}, notFound("User pool %s does not exist.", pid)
	}
	t := target{pool: p}
	switch f {
	case findClient:
		cid := val(r.ClientId)
		if t.client, ok = p.Clients[cid]; !ok {
			return target{}, notFound("User pool client %s does not exist.", cid)
		}
	case findResourceServer:
		id := val(r.Identifier)
		if t.rs, ok = p.ResourceServers[id]; !ok {
			return target{}, notFound("Resource server %s does not exist in user pool %s.", id, p.ID)
		}
	}
	return t, nil
}

// noInput is the input of an operation that needs nothing but what the
// request names.
type noInput struct{}

// pageInput is the paging members of a List operation.
type pageInput struct {
	MaxResults *int32
	NextToken  *string
}

// listPage answers a List request: the page of m, in creation order, that it
// asks for (def items when it gives no MaxResults), under member with each
// item as desc puts it on the wire, and the token of the next page.
func listPage[T, D any](member string, m map[string]T, seq func(T) int64, in *pageInput, def int, desc func(T) D) (any, error) {
	pg, next, err := page(sortedBySeq(m, seq), seq, limit(in.MaxResults, def), val(in.NextToken))
	if err != nil {
		return nil, err
	}
	items := make([]D, 0, len(pg))
	for _, v := range pg {
		items = append(items, desc(v))
	}
	out := map[string]any{member: items}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}
