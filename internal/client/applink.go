package client

// AppLink is one app's resolved AppLink API under one add-on (applink-api.md
// §1): the app's UUID, the add-on, its attachment and the API URL and token
// from the attachment's config vars. Its methods are the routes of §2 and §7.
type AppLink struct {
	AppName    string
	AppID      string
	AppWebURL  string
	AddonID    string
	AddonName  string
	Attachment string // e.g. HEROKU_APPLINK
	APIURL     string // scheme://host[:port] taken from <ATTACHMENT>_API_URL
}
