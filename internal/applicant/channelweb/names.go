package channelweb

import (
	"strings"

	"github.com/egov-suite/egov/internal/webkit"
)

// StatusName is a status as the citizen reads it, in Russian or Kazakh.
func StatusName(lang, status string) string {
	if n, ok := statusNames[lang][status]; ok {
		return n
	}
	if n, ok := statusNames["ru"][status]; ok {
		return n
	}
	return status
}

// Shown is the status a page shows for an application's (or one status row's) status: a result issued
// after a refusal is a refusal to the citizen (REFUSAL_ISSUED, shown as a refusal), never «Результат
// готов» as after an approval.
func Shown(status string, refused bool) string {
	if refused && status == "RESULT_ISSUED" {
		return "REFUSAL_ISSUED"
	}
	return status
}

// statusNames are the statuses as the citizen reads them.
var statusNames = map[string]map[string]string{
	"ru": {"DRAFT": "Черновик", "SUBMITTED": "Отправлено", "DELIVERED": "Доставлено", "NOT_DELIVERED": "Не доставлено",
		"REGISTERED": "Зарегистрировано", "IN_PROGRESS": "В работе", "EXTENDED": "Срок продлён", "APPROVED": "Одобрено",
		"REFUSED": "Отказано", "RESULT_ISSUED": "Результат готов", "REFUSAL_ISSUED": "Отказано: ответ готов", "HANDED_OVER": "Выдано", "UNCLAIMED": "Не востребовано",
		"UNKNOWN": "Статус обновлён",
		// A waiting list's (ИС Е-Астана's kindergarten queue).
		"QUEUED": "Поставлен в очередь", "QUEUE_MOVED": "Очередь продвинулась", "REFERRAL_OFFERED": "Выдано направление",
		"REFERRAL_EXPIRED": "Направление истекло", "REFERRAL_DECLINED": "Отказ от направления", "ENROLLED": "Зачислен в детский сад",
		"REMOVED": "Снят с очереди"},
	"kk": {"DRAFT": "Жоба", "SUBMITTED": "Жіберілді", "DELIVERED": "Жеткізілді", "NOT_DELIVERED": "Жеткізілмеді",
		"REGISTERED": "Тіркелді", "IN_PROGRESS": "Жұмыста", "EXTENDED": "Мерзімі ұзартылды", "APPROVED": "Мақұлданды",
		"REFUSED": "Бас тартылды", "RESULT_ISSUED": "Нәтиже дайын", "REFUSAL_ISSUED": "Бас тартылды: жауап дайын", "HANDED_OVER": "Берілді", "UNCLAIMED": "Талап етілмеді",
		"UNKNOWN": "Мәртебесі жаңартылды",
		"QUEUED":  "Кезекке қойылды", "QUEUE_MOVED": "Кезек жылжыды", "REFERRAL_OFFERED": "Жолдама берілді",
		"REFERRAL_EXPIRED": "Жолдаманың мерзімі өтті", "REFERRAL_DECLINED": "Жолдамадан бас тартылды", "ENROLLED": "Балабақшаға қабылданды",
		"REMOVED": "Кезектен шығарылды"},
}

// QueueKind is the kind of a child's waiting list (general, primary, extraordinary) as a parent reads it.
func QueueKind(lang, kind string) string {
	if n, ok := queueKinds[lang][kind]; ok {
		return n
	}
	if n, ok := queueKinds["ru"][kind]; ok {
		return n
	}
	return kind
}

var queueKinds = map[string]map[string]string{
	"ru": {"general": "общая очередь", "primary": "первоочередное право", "extraordinary": "внеочередное право"},
	"kk": {"general": "жалпы кезек", "primary": "бірінші кезектегі құқық", "extraordinary": "кезектен тыс құқық"},
}

// QueueList is a waiting list's id (astana, astana/<district>) as a parent reads it.
func QueueList(lang, id string) string {
	city, district, byDistrict := strings.Cut(id, "/")
	if city != "astana" {
		return id
	}
	if byDistrict {
		return webkit.Pick(lang, "город Астана, район "+district, "Астана қаласы, "+district+" ауданы")
	}
	return webkit.Pick(lang, "город Астана", "Астана қаласы")
}
