// Package demo is the cast of the dev mode: the people and systems every service seeds with the same
// identities, so that the citizen the portal signs in is the person ГБД ФЛ knows and НУЦ certified.
package demo

// Organisation BINs of the cast (valid check digits).
const (
	// BINGovCorp is НАО «Государственная корпорация «Правительство для граждан»» (ЦОН).
	BINGovCorp = "160140000014"
	// BINPavlodarEducation is ГУ «Отдел образования города Павлодара», the provider of the
	// guardianship certificate in Pavlodar.
	BINPavlodarEducation = "041240000016"
	// BINAstanaEducation is ГУ «Управление образования города Астаны», the provider of the kindergarten
	// waiting list of Astana (its МИО employees sign in ИС Е-Астана).
	BINAstanaEducation = "010740002845"
	// BINSuite is the operator of the suite's systems (ШЭП, the registries' stubs).
	BINSuite = "990840000012"
)

// Person is a demo person.
type Person struct {
	// Slug names the person's key files.
	Slug       string
	IIN        string
	Surname    string
	GivenName  string
	Patronymic string
	// Role in the demo, in Russian.
	Role string
	// Organization and BIN for an employee; empty for a citizen.
	Organization string
	BIN          string
}

// People of the demo.
var People = []Person{
	{Slug: "citizen-akhmetova", IIN: "880512400011", Surname: "Ахметова", GivenName: "Асель", Patronymic: "Маратовна",
		Role: "заявитель (мать)"},
	{Slug: "citizen-ivanov", IIN: "841103300017", Surname: "Иванов", GivenName: "Сергей", Patronymic: "Петрович",
		Role: "представитель по доверенности"},
	{Slug: "tson-operator", IIN: "790215400018", Surname: "Нурланова", GivenName: "Гульнар", Patronymic: "Ерлановна",
		Role: "оператор ЦОН", Organization: "НАО «Государственная корпорация «Правительство для граждан»»", BIN: BINGovCorp},
	{Slug: "clerk-pavlodar", IIN: "920306400011", Surname: "Жумабаева", GivenName: "Айгерим", Patronymic: "Канатовна",
		Role: "канцелярия услугодателя", Organization: "ГУ «Отдел образования города Павлодара»", BIN: BINPavlodarEducation},
	{Slug: "officer-pavlodar", IIN: "750723300016", Surname: "Касымов", GivenName: "Ерлан", Patronymic: "Болатович",
		Role: "ответственный исполнитель", Organization: "ГУ «Отдел образования города Павлодара»", BIN: BINPavlodarEducation},
	{Slug: "head-pavlodar", IIN: "680415300016", Surname: "Сейткалиев", GivenName: "Марат", Patronymic: "Серикович",
		Role: "руководитель услугодателя", Organization: "ГУ «Отдел образования города Павлодара»", BIN: BINPavlodarEducation},
	{Slug: "mio-astana", IIN: "870614400527", Surname: "Сарсенова", GivenName: "Динара", Patronymic: "Жумабековна",
		Role: "сотрудник МИО (ИС Е-Астана)", Organization: "ГУ «Управление образования города Астаны»", BIN: BINAstanaEducation},
}

// Relatives of the cast, known to ГБД ФЛ (no keys: children and a spouse do not sign).
var (
	// SpouseIIN is Ахметов Нурлан Серикович, Асель's husband.
	SpouseIIN = "860215300017"
	// ChildIIN is Ахметов Алихан Нурланович, born 2015-03-10, their son.
	ChildIIN = "150310500018"
	// WardIIN is Сапарова Дана Ержановна, born 2012-09-21, an orphan under Асель's guardianship: the
	// guardianship certificate («справка по опеке и попечительству») is about her.
	WardIIN = "120921600010"
	// MissingIIN is a valid IIN that ГБД ФЛ does not know: the refusal «в связи с отсутствием данных
	// получателя в ГБД ФЛ» is shown with it.
	MissingIIN = "950708300016"
)

// Powers of attorney of the cast, registered in ЕНИС: Асель authorises Сергей to apply for her.
const (
	PowerOfAttorneyValid   = "2026-ДОВ-000101"
	PowerOfAttorneyExpired = "2024-ДОВ-000077"
	PowerOfAttorneyRevoked = "2026-ДОВ-000102"
)

// Systems are the ШЭП participants of the demo.
// The regional nodes are one per region of the built-in passports.
var Systems = []string{"portal", "tson", "shep", "rshep-55", "rshep-59", "rshep-27", "rshep-51", "gbdfl", "enis", "eastana"}

// Admin is the suite operator's administrator: an employee of the operator (BINSuite) whose
// authentication key (keys/admin.p12) opens the admin APIs of ШЭП and НУЦ; the dev mode lists her IIN
// as the only administrator.
var Admin = Person{Slug: "admin", IIN: "810109300001", Surname: "Омарова", GivenName: "Жанар", Patronymic: "Бекболатовна",
	Role: "администратор", Organization: "egov suite", BIN: BINSuite}

// RevokedKeySlug names Асель's second signing key, which НУЦ revoked: the demo of the refusal for a
// revoked certificate.
const RevokedKeySlug = "citizen-akhmetova-revoked"

// Password protects every demo key file. It is printed by egov dev: these are demo keys.
const Password = "egov-demo"

// Entry is one line of the demo summary egov dev prints.
type Entry struct {
	Service  string `json:"service"`
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	IIN      string `json:"iin,omitempty"`
	Role     string `json:"role,omitempty"`
	File     string `json:"file,omitempty"`
	Password string `json:"password,omitempty"`
}
