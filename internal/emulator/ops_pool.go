package emulator

import (
	"strings"
)

const (
	maxUserPools           = 1000
	maxResourceServers     = 25
	maxClientsPerPool      = 1000
	maxSecretsPerClient    = 2
	defaultTier            = "ESSENTIALS"
	deletionProtectionOff  = "INACTIVE"
	deletionProtectionOn   = "ACTIVE"
	domainReservedWordsMsg = "Domain cannot contain reserved word: "
)

type createUserPoolInput struct {
	PoolName           *string
	UserPoolTags       map[string]string
	DeletionProtection string
	UserPoolTier       string
}

type userPoolOut struct {
	Id                     string
	Name                   string
	Arn                    string
	CreationDate           epoch
	LastModifiedDate       epoch
	Domain                 string `json:",omitempty"`
	CustomDomain           string `json:",omitempty"`
	DeletionProtection     string
	MfaConfiguration       string
	EstimatedNumberOfUsers int
	UserPoolTier           string
	UserPoolTags           map[string]string `json:",omitempty"`
}

func (p *pool) out() userPoolOut {
	return userPoolOut{
		Id: p.ID, Name: p.Name, Arn: p.ARN,
		CreationDate: epoch(p.Created), LastModifiedDate: epoch(p.Modified),
		Domain: p.Domain, CustomDomain: p.CustomDomain,
		DeletionProtection: p.DeletionProtection, MfaConfiguration: "OFF",
		UserPoolTier: p.Tier, UserPoolTags: p.Tags,
	}
}

// createPool creates a user pool with the given id, or a random one when id
// is empty; callers check a given id with checkPoolID first.
func (e *Emulator) createPool(in createUserPoolInput, id string) (*pool, error) {
	// A request was validated against the model; a name from the Go API (the
	// start-up pool) is checked here.
	if err := checkShape("UserPoolNameType", "poolName", val(in.PoolName)); err != nil {
		return nil, err
	}
	name := val(in.PoolName)
	if in.DeletionProtection == "" {
		in.DeletionProtection = deletionProtectionOff
	}
	if in.UserPoolTier == "" {
		in.UserPoolTier = defaultTier
	}
	if len(e.st.Pools) >= maxUserPools {
		return nil, newErr(errLimitExceeded, "The limit of %d user pools has been reached.", maxUserPools)
	}
	if id == "" {
		id = newPoolID(e.region)
	}
	now := e.now()
	p := &pool{
		Seq: e.st.nextSeq(), ID: id, Name: name,
		ARN:     "arn:aws:cognito-idp:" + e.region + ":" + accountID + ":userpool/" + id,
		Created: now, Modified: now,
		DeletionProtection: in.DeletionProtection, Tier: in.UserPoolTier, Tags: in.UserPoolTags,
		ResourceServers: map[string]*resourceServer{}, Clients: map[string]*appClient{},
	}
	e.st.Pools[id] = p
	return p, nil
}

func (e *Emulator) createUserPool(in *createUserPoolInput, _ target) (any, error) {
	p, err := e.createPool(*in, "")
	if err != nil {
		return nil, err
	}
	return map[string]any{"UserPool": p.out()}, nil
}

func (e *Emulator) describeUserPool(_ *noInput, t target) (any, error) {
	return map[string]any{"UserPool": t.pool.out()}, nil
}

func (e *Emulator) listUserPools(in *pageInput, _ target) (any, error) {
	type desc struct {
		Id               string
		Name             string
		CreationDate     epoch
		LastModifiedDate epoch
		LambdaConfig     struct{}
	}
	return listPage("UserPools", e.st.Pools, func(p *pool) int64 { return p.Seq }, in, 60, func(p *pool) desc {
		return desc{Id: p.ID, Name: p.Name, CreationDate: epoch(p.Created), LastModifiedDate: epoch(p.Modified)}
	})
}

func (e *Emulator) deleteUserPool(_ *noInput, t target) (any, error) {
	p := t.pool
	if p.DeletionProtection == deletionProtectionOn {
		return nil, invalidParam("The user pool %s cannot be deleted because deletion protection is activated. Deletion protection must be inactivated first.", p.ID)
	}
	delete(e.st.Pools, p.ID)
	return struct{}{}, nil
}

// poolByDomain finds the pool that owns a prefix or custom domain.
func (e *Emulator) poolByDomain(domain string) *pool {
	for _, p := range e.st.Pools {
		if domain != "" && (p.Domain == domain || p.CustomDomain == domain) {
			return p
		}
	}
	return nil
}

// createDomain attaches a prefix domain, or a custom domain when certARN is
// set. Domains are unique across all pools, as in Cognito.
func (e *Emulator) createDomain(p *pool, domain, certARN string) error {
	custom := certARN != ""
	if custom {
		if n := len(domain); n < 1 || n > 253 || !customDomRe.MatchString(domain) {
			return validationErr("domain", domain, "Member must be a DNS name of 1 to 253 characters")
		}
	} else if err := checkShape("DomainType", "domain", domain); err != nil {
		return err
	}
	if !custom {
		for _, w := range []string{"aws", "amazon", "cognito"} {
			if strings.Contains(domain, w) {
				return invalidParam("%s%s", domainReservedWordsMsg, w)
			}
		}
	}
	if e.poolByDomain(domain) != nil {
		return invalidParam("Domain already associated with another user pool.")
	}
	if (custom && p.CustomDomain != "") || (!custom && p.Domain != "") {
		return invalidParam("User pool %s already has a domain configured.", p.ID)
	}
	now := e.now()
	if custom {
		p.CustomDomain, p.CertificateARN = domain, certARN
	} else {
		p.Domain = domain
	}
	p.DomainCreated, p.Modified = now, now
	return nil
}

// domainMember is the Domain of a domain operation, left by modelExceptions to
// the operation: required, and at most a DNS name's 253 characters (prefix or
// custom domain).
func domainMember(v *string) (string, error) {
	if v == nil {
		return "", missingParam("domain")
	}
	if n := len(*v); n < 1 || n > 253 {
		return "", validationErr("domain", *v, "Member must have length between 1 and 253")
	}
	return *v, nil
}

type domainInput struct {
	Domain             *string
	CustomDomainConfig *struct{ CertificateArn *string }
}

func (e *Emulator) createUserPoolDomain(in *domainInput, t target) (any, error) {
	domain, err := domainMember(in.Domain)
	if err != nil {
		return nil, err
	}
	cert := ""
	if in.CustomDomainConfig != nil {
		cert = val(in.CustomDomainConfig.CertificateArn)
	}
	if err := e.createDomain(t.pool, domain, cert); err != nil {
		return nil, err
	}
	out := map[string]any{"ManagedLoginVersion": 1}
	if cert != "" {
		out["CloudFrontDomain"] = cloudFrontName(domain)
	}
	return out, nil
}

func cloudFrontName(domain string) string {
	return "d" + strings.ReplaceAll(domain, ".", "-") + ".cloudfront.net"
}

func (e *Emulator) describeUserPoolDomain(in *domainInput, _ target) (any, error) {
	domain, err := domainMember(in.Domain)
	if err != nil {
		return nil, err
	}
	p := e.poolByDomain(domain)
	if p == nil {
		// Cognito answers an unknown domain with an empty description, not
		// an error; callers check for a missing UserPoolId.
		return map[string]any{"DomainDescription": struct{}{}}, nil
	}
	d := map[string]any{
		"UserPoolId":             p.ID,
		"AWSAccountId":           accountID,
		"Domain":                 domain,
		"S3Bucket":               "aws-cognito-prod-" + e.region + "-assets",
		"CloudFrontDistribution": cloudFrontName(domain),
		"Version":                p.DomainCreated.UTC().Format("20060102150405"),
		"Status":                 "ACTIVE",
		"ManagedLoginVersion":    1,
	}
	if domain == p.CustomDomain {
		d["CustomDomainConfig"] = map[string]string{"CertificateArn": p.CertificateARN}
	}
	return map[string]any{"DomainDescription": d}, nil
}

func (e *Emulator) deleteUserPoolDomain(in *domainInput, t target) (any, error) {
	p := t.pool
	domain, err := domainMember(in.Domain)
	if err != nil {
		return nil, err
	}
	switch domain {
	case p.Domain:
		p.Domain = ""
	case p.CustomDomain:
		p.CustomDomain, p.CertificateARN = "", ""
	default:
		return nil, invalidParam("No such domain or user pool exists.")
	}
	p.Modified = e.now()
	return struct{}{}, nil
}
