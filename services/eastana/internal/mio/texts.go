package mio

import (
	"fmt"

	"github.com/egov-suite/egov/internal/webkit"
	"github.com/egov-suite/egov/services/eastana/internal/queue"
)

// texts are the cabinet's words, in Russian (default) and Kazakh. МИО (местный исполнительный орган) is
// ЖАО (жергілікті атқарушы орган) in Kazakh; ДДО (дошкольная организация) is МЖҰ.
var texts = map[string]map[string]string{
	"ru": {
		"title": "ИС Е-Астана — рабочий кабинет МИО", "title_login": "Вход", "title_places": "Места в ДДО", "title_referrals": "Направления",
		"title_child": "Ребёнок в очереди", "title_cases": "Поступившие заявления", "title_case": "Заявление", "title_office": "Приём заявления в МИО",
		"title_office_sign": "Подписание заявления",
		"login":             "Вход сотрудника МИО по ЭЦП", "sign_in": "Войти", "logout": "Выйти",
		"login_help": "Подпишите вход ключом аутентификации (AUTH) через NCALayer. Без NCALayer: сохраните текст вызова в файл, подпишите его командой «egov sign --in файл --p12 ключ-AUTH.p12 --out вход.p7s» и вставьте «base64 -w0 вход.p7s» в поле.",
		"challenge":  "Текст вызова", "signature": "Подпись CMS (Base64)", "sign_with_ncalayer": "Подписать через NCALayer",
		"ncalayer_off":     "NCALayer не отвечает на 127.0.0.1:13579. Запустите NCALayer и повторите, либо вставьте подпись вручную.",
		"err_no_signature": "Нет подписи: подпишите через NCALayer или вставьте подпись CMS в Base64.",
		"err_challenge":    "Вызов устарел или уже использован: обновите страницу и подпишите снова.",
		// The regulation's refusal (process 2 of the МИО channel), with what it means here.
		"err_not_staff": "Отказ в авторизации в ИС Е-Астана в связи с имеющимися нарушениями в данных сотрудника МИО: владелец сертификата не числится среди сотрудников МИО, допущенных к ИС Е-Астана. Обратитесь к администратору системы.",
		"nav_cases":     "Поступившие заявления", "nav_places": "Места в ДДО", "nav_referrals": "Направления", "nav_child": "Ребёнок по ИИН", "nav_office": "Приём в МИО",
		"kindergarten": "ДДО", "group": "Возрастная группа", "capacity": "Мест", "occupied": "Занято", "free": "Свободно", "offered": "Выдано направлений",
		"release": "Освободить места", "release_n": "Сколько мест освободить", "release_help": "Места, освобождённые выбывшими детьми: каждое сразу предлагается первому по очереди ребёнку подходящего возраста (направление в ДДО).",
		"years": "лет", "no_kindergartens": "ДДО не заведены.",
		"err_release_n": "Укажите число освобождаемых мест — целое число больше нуля.",
		"referrals":     "Направления, ожидающие регистрации в ДДО", "child": "Ребёнок (ИИН)", "number": "№ в очереди", "applicant": "Заявитель (ИИН)",
		"place": "Место", "valid_until": "Действительно до", "actions": "Действия", "enroll": "Зарегистрировано в ДДО", "decline": "Отказ от направления",
		"no_referrals": "Нет направлений, ожидающих регистрации.", "done_enroll": "Направление зарегистрировано в ДДО: место занято ребёнком.",
		"done_decline": "Отказ от направления записан: место передано следующему ребёнку по очереди.",
		"child_iin":    "ИИН ребёнка", "find": "Найти", "err_iin": "ИИН — это 12 цифр: проверьте введённое.",
		"err_no_entry": "Ребёнок с этим ИИН не стоит и не стоял в очереди ИС Е-Астана.",
		"list":         "Очередь", "state": "Состояние", "registered_at": "Поставлен в очередь", "channel": "Канал", "ahead": "Впереди детей",
		"kind": "Право", "events": "История", "at": "Время", "event": "Событие", "none": "нет",
		"expired_not_closed": "срок истёк",
	},
	"kk": {
		"title": "ИС Е-Астана — ЖАО жұмыс кабинеті", "title_login": "Кіру", "title_places": "МЖҰ-дағы орындар", "title_referrals": "Жолдамалар",
		"title_child": "Кезектегі бала", "title_cases": "Түскен өтініштер", "title_case": "Өтініш", "title_office": "ЖАО-да өтінішті қабылдау",
		"title_office_sign": "Өтінішке қол қою",
		"login":             "ЖАО қызметкерінің ЭЦҚ арқылы кіруі", "sign_in": "Кіру", "logout": "Шығу",
		"login_help": "Кіруді NCALayer арқылы аутентификация кілтімен (AUTH) қол қойыңыз. NCALayer болмаса: шақыру мәтінін файлға сақтап, оған «egov sign --in файл --p12 кілт-AUTH.p12 --out кіру.p7s» командасымен қол қойыңыз және «base64 -w0 кіру.p7s» нәтижесін өріске қойыңыз.",
		"challenge":  "Шақыру мәтіні", "signature": "CMS қолтаңбасы (Base64)", "sign_with_ncalayer": "NCALayer арқылы қол қою",
		"ncalayer_off":     "NCALayer 127.0.0.1:13579 мекенжайында жауап бермейді. NCALayer іске қосып, қайталаңыз немесе қолтаңбаны қолмен қойыңыз.",
		"err_no_signature": "Қолтаңба жоқ: NCALayer арқылы қол қойыңыз немесе Base64 CMS қолтаңбасын қойыңыз.",
		"err_challenge":    "Шақыру ескірген немесе пайдаланылған: бетті жаңартып, қайта қол қойыңыз.",
		"err_not_staff":    "ЖАО қызметкерінің деректеріндегі бұзушылықтарға байланысты ИС Е-Астанада авторизациядан бас тартылды: сертификат иесі ИС Е-Астанаға рұқсат етілген ЖАО қызметкерлерінің қатарында жоқ. Жүйе әкімшісіне хабарласыңыз.",
		"nav_cases":        "Түскен өтініштер", "nav_places": "МЖҰ-дағы орындар", "nav_referrals": "Жолдамалар", "nav_child": "ЖСН бойынша бала", "nav_office": "ЖАО-да қабылдау",
		"kindergarten": "МЖҰ", "group": "Жас тобы", "capacity": "Орын", "occupied": "Бос емес", "free": "Бос", "offered": "Берілген жолдамалар",
		"release": "Орындарды босату", "release_n": "Қанша орын босатылады", "release_help": "Шығып кеткен балалар босатқан орындар: әрқайсысы бірден кезектегі жасы сәйкес келетін бірінші балаға ұсынылады (МЖҰ-ға жолдама).",
		"years": "жас", "no_kindergartens": "МЖҰ енгізілмеген.",
		"err_release_n": "Босатылатын орындар санын көрсетіңіз — нөлден үлкен бүтін сан.",
		"referrals":     "МЖҰ-да тіркелуін күтіп тұрған жолдамалар", "child": "Бала (ЖСН)", "number": "Кезектегі №", "applicant": "Өтініш беруші (ЖСН)",
		"place": "Орын", "valid_until": "Жарамдылық мерзімі", "actions": "Әрекеттер", "enroll": "МЖҰ-да тіркелді", "decline": "Жолдамадан бас тарту",
		"no_referrals": "Тіркелуді күтіп тұрған жолдамалар жоқ.", "done_enroll": "Жолдама МЖҰ-да тіркелді: орынды бала алды.",
		"done_decline": "Жолдамадан бас тарту жазылды: орын кезектегі келесі балаға берілді.",
		"child_iin":    "Баланың ЖСН", "find": "Табу", "err_iin": "ЖСН — 12 цифр: енгізілгенді тексеріңіз.",
		"err_no_entry": "Осы ЖСН-і бар бала ИС Е-Астана кезегінде тұрған жоқ және тұрмаған.",
		"list":         "Кезек", "state": "Күйі", "registered_at": "Кезекке қойылды", "channel": "Арна", "ahead": "Алдындағы балалар",
		"kind": "Құқық", "events": "Тарих", "at": "Уақыты", "event": "Оқиға", "none": "жоқ",
		"expired_not_closed": "мерзімі өтті",
	},
}

// releasedText says what a release did.
func releasedText(lang string, released, offered int) string {
	return webkit.Pick(lang, fmt.Sprintf("Освобождено мест: %d; выдано направлений: %d.", released, offered),
		fmt.Sprintf("Босатылған орындар: %d; берілген жолдамалар: %d.", released, offered))
}

// words are the names of the store's codes, ru and kk.
var words = map[string]map[string][2]string{
	"state": {
		"waiting":  {"ожидает места", "орын күтуде"},
		"offered":  {"выдано направление", "жолдама берілді"},
		"enrolled": {"зарегистрирован в ДДО", "МЖҰ-да тіркелді"},
		"declined": {"отказ от направления", "жолдамадан бас тартты"},
		"expired":  {"направление не зарегистрировано в срок", "жолдама мерзімінде тіркелмеді"},
		"removed":  {"снят с очереди", "кезектен шығарылды"},
	},
	"event": {
		"registered": {"поставлен в очередь", "кезекке қойылды"},
		"offered":    {"выдано направление в ДДО", "МЖҰ-ға жолдама берілді"},
		"declined":   {"отказ от направления", "жолдамадан бас тартты"},
		"expired":    {"направление не зарегистрировано в срок", "жолдама мерзімінде тіркелмеді"},
		"enrolled":   {"зарегистрирован в ДДО", "МЖҰ-да тіркелді"},
		"removed":    {"снят с очереди", "кезектен шығарылды"},
	},
	"kind": {
		"general":       {"общая очередь", "жалпы кезек"},
		"primary":       {"первоочередное право", "бірінші кезектегі құқық"},
		"extraordinary": {"внеочередное право", "кезектен тыс құқық"},
	},
	"channel": {
		"portal":  {"с ПЭП", "ЭҮП-тен"},
		"tson":    {"из ЦОН", "ХҚКО-дан"},
		"eastana": {"из личного кабинета ИС Е-Астана", "ИС Е-Астана жеке кабинетінен"},
		"office":  {"приём в МИО", "ЖАО-да қабылдау"},
	},
}

// word is the name of code of kind in lang, or the code itself (a code this build has no name for is
// shown rather than hidden).
func word(lang, kind, code string) string {
	if w, ok := words[kind][code]; ok {
		return webkit.Pick(lang, w[0], w[1])
	}
	return code
}

// text is a queue.Text in lang.
func text(lang string, t queue.Text) string { return webkit.Pick(lang, t.RU, t.KK) }

// funcs are the cabinet's template functions.
func funcs() map[string]any {
	return map[string]any{"word": word, "text": text}
}
