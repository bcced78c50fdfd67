// Package gateway is ШЭП's core: it admits envelopes (signature, certificate status, registry, ACL,
// replay), routes them on the sync channel (gRPC, to the provider's endpoint) and the async channel
// (JetStream, shep.in → shep.out), keeps delivery states, moves given-up messages to the dead-letter
// stream, and writes every decision to the hash-chained message log.
package gateway

import (
	"github.com/egov-suite/egov/envelope"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
)

// Status codes of ШЭП's contract (shepv1), under the gateway's names. Every rejection has its own.
const (
	CodeSuccess             = shepv1.CodeSuccess
	CodeMalformed           = shepv1.CodeMalformed
	CodeUnsigned            = shepv1.CodeUnsigned
	CodeOversize            = shepv1.CodeOversize
	CodeBadSignature        = shepv1.CodeBadSignature
	CodeCertRevoked         = shepv1.CodeCertRevoked
	CodeCertExpired         = shepv1.CodeCertExpired
	CodeCertNotYetValid     = shepv1.CodeCertNotYetValid
	CodeCertUnknownIssuer   = shepv1.CodeCertUnknownIssuer
	CodeCertUsage           = shepv1.CodeCertUsage
	CodeCertStatus          = shepv1.CodeCertStatus
	CodeSenderMismatch      = shepv1.CodeSenderMismatch
	CodeUnknownSender       = shepv1.CodeUnknownSender
	CodeBadHeader           = shepv1.CodeBadHeader
	CodeUnknownService      = shepv1.CodeUnknownService
	CodeWrongChannel        = shepv1.CodeWrongChannel
	CodeACLDenied           = shepv1.CodeACLDenied
	CodeUnknownRecipient    = shepv1.CodeUnknownRecipient
	CodeDuplicate           = shepv1.CodeDuplicate
	CodeProviderUnavailable = shepv1.CodeProviderUnavailable
	CodeProviderTimeout     = shepv1.CodeProviderTimeout
	CodeBadResponse         = shepv1.CodeBadResponse
	CodeDeadLetter          = shepv1.CodeDeadLetter
	CodeInternal            = shepv1.CodeInternal
)

// messages are the Russian texts of the codes, as a participant's operator reads them.
var messages = map[string]string{
	CodeSuccess:             "Сообщение успешно обработано",
	CodeMalformed:           "Сообщение повреждено или не является конвертом ШЭП",
	CodeUnsigned:            "Конверт не подписан ЭЦП информационной системы",
	CodeOversize:            "Размер конверта превышает допустимый",
	CodeBadSignature:        "Подпись конверта недействительна",
	CodeCertRevoked:         "Регистрационное свидетельство отправителя отозвано",
	CodeCertExpired:         "Срок действия регистрационного свидетельства отправителя истёк",
	CodeCertNotYetValid:     "Регистрационное свидетельство отправителя ещё не действует",
	CodeCertUnknownIssuer:   "Регистрационное свидетельство отправителя выдано не НУЦ",
	CodeCertUsage:           "Ключ отправителя не предназначен для подписи конвертов",
	CodeCertStatus:          "Не удалось проверить статус регистрационного свидетельства отправителя",
	CodeSenderMismatch:      "Отправитель не совпадает с владельцем подписи",
	CodeUnknownSender:       "Отправитель не зарегистрирован в ШЭП",
	CodeBadHeader:           "Заголовок конверта заполнен неверно",
	CodeUnknownService:      "Сервис не зарегистрирован в ШЭП",
	CodeWrongChannel:        "Сервис не доступен по этому каналу",
	CodeACLDenied:           "Доступ к сервису не предоставлен",
	CodeUnknownRecipient:    "Получатель не зарегистрирован в ШЭП",
	CodeDuplicate:           "Сообщение с таким идентификатором уже отправлено",
	CodeProviderUnavailable: "Информационная система поставщика недоступна",
	CodeProviderTimeout:     "Поставщик не ответил в установленное время",
	CodeBadResponse:         "Ответ поставщика не прошёл проверку",
	CodeDeadLetter:          "Сообщение не доставлено после всех попыток",
	CodeInternal:            "Внутренняя ошибка ШЭП",
}

// Message returns the Russian text of a code.
func Message(code string) string {
	if m, ok := messages[code]; ok {
		return m
	}
	return code
}

// codeFor maps a signature verification failure to a gateway code.
func codeFor(err error) string {
	switch envelope.CodeOf(err) {
	case envelope.CodeMalformed:
		return CodeMalformed
	case envelope.CodeBadSignature:
		return CodeBadSignature
	case envelope.CodeExpired:
		return CodeCertExpired
	case envelope.CodeNotYetValid:
		return CodeCertNotYetValid
	case envelope.CodeRevoked:
		return CodeCertRevoked
	case envelope.CodeUnknownIssuer:
		return CodeCertUnknownIssuer
	case envelope.CodeWrongKeyUsage:
		return CodeCertUsage
	case envelope.CodeIINMismatch:
		return CodeSenderMismatch
	case envelope.CodeStatusUnavailable:
		return CodeCertStatus
	default:
		return CodeInternal
	}
}
