-- SOAP 1.1 requests of PersonRegisterService v1 (xsd/PersonRegister.xsd) and
-- PersonIdentificationService v1 (xsd/PersonIdentification.xsd), with the WS-Security
-- UsernameToken (PasswordText) header and informationCustomer every call needs.
local M = {}

local PASSWORD_TEXT = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"

local function escape(s)
  return (s:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"))
end

local HEAD = [[<?xml version="1.0" encoding="utf-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ]] ..
  [[xmlns:reg="urn:be:raas:types:PersonRegister:v1" xmlns:common="urn:be:raas:types:common:v1" ]] ..
  [[xmlns:ident="urn:be:raas:types:PersonIdentification:v1" ]] ..
  [[xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">]] ..
  [[<soapenv:Header><wsse:Security><wsse:UsernameToken>]] ..
  [[<wsse:Username>%s</wsse:Username><wsse:Password Type="]] .. PASSWORD_TEXT .. [[">%s</wsse:Password>]] ..
  [[</wsse:UsernameToken></wsse:Security></soapenv:Header><soapenv:Body>]]
local TAIL = [[</soapenv:Body></soapenv:Envelope>]]

-- The prefix of the operation's namespace (reg, ident) comes first and last.
local INFORMATION_CUSTOMER = [[<%s:informationCustomer><common:ticket>%s</common:ticket>]] ..
  [[<common:timestampSent>%s</common:timestampSent><common:customerIdentification>]] ..
  [[<common:cbeNumber>%s</common:cbeNumber></common:customerIdentification></%s:informationCustomer>]]

-- A client of one organisation: builds its requests.
function M.client(username, password, cbe)
  local head = string.format(HEAD, escape(username), escape(password))
  local client = { calls = 0 }

  local function customer(ticket_prefix, prefix)
    client.calls = client.calls + 1
    local ticket = string.format("%s-%d", ticket_prefix, client.calls):sub(1, 36)
    prefix = prefix or "reg"
    return string.format(INFORMATION_CUSTOMER, prefix, ticket, os.date("!%Y-%m-%dT%H:%M:%SZ"), cbe,
      prefix)
  end

  -- registerPerson: adds the period from `begin` to `end_date` (YYYY-MM-DD; nil: open). With
  -- `person` ({last_name, first_name, birth_date, gender}; first_name and gender may be nil
  -- or empty), the request carries personData, which the service verifies.
  function client.register(ticket_prefix, ssin, dossier_type, begin, end_date, person)
    local period = "<reg:beginDate>" .. begin .. "</reg:beginDate>"
    if end_date then period = period .. "<reg:endDate>" .. end_date .. "</reg:endDate>" end
    local person_data = ""
    if person then
      person_data = "<reg:personData><reg:lastName>" .. escape(person.last_name) .. "</reg:lastName>"
      if person.first_name and person.first_name ~= "" then
        person_data = person_data .. "<reg:firstName>" .. escape(person.first_name) .. "</reg:firstName>"
      end
      person_data = person_data .. "<reg:birthDate>" .. person.birth_date .. "</reg:birthDate>"
      if person.gender and person.gender ~= "" then
        person_data = person_data .. "<reg:gender>" .. person.gender .. "</reg:gender>"
      end
      person_data = person_data .. "</reg:personData>"
    end
    return head .. "<reg:registerPersonRequest>" .. customer(ticket_prefix) ..
      "<reg:ssin>" .. ssin .. "</reg:ssin><reg:dossierType>" .. dossier_type ..
      "</reg:dossierType><reg:period>" .. period .. "</reg:period>" .. person_data ..
      "</reg:registerPersonRequest>" .. TAIL
  end

  -- consultRegister: every line of the person, all dossier types.
  function client.consult(ticket_prefix, ssin)
    return head .. "<reg:consultRegisterRequest>" .. customer(ticket_prefix) ..
      "<reg:ssin>" .. ssin .. "</reg:ssin></reg:consultRegisterRequest>" .. TAIL
  end

  -- identifyPerson (PersonIdentificationService): the person behind the number.
  function client.identify(ticket_prefix, ssin, legal_context)
    return head .. "<ident:identifyPersonRequest>" .. customer(ticket_prefix, "ident") ..
      "<ident:legalContext>" .. escape(legal_context) .. "</ident:legalContext>" ..
      "<ident:ssin>" .. ssin .. "</ident:ssin></ident:identifyPersonRequest>" .. TAIL
  end

  -- searchPersonByPhoneticCriteria: `criteria` {last_name, first_name, middle_name,
  -- birth_date, tolerance, gender, maximum}; every field but last_name and birth_date may be
  -- nil or empty (then left out).
  function client.search(ticket_prefix, legal_context, criteria)
    local fields = { "<ident:lastName>" .. escape(criteria.last_name) .. "</ident:lastName>" }
    local function optional(name, value, escaped)
      if value and value ~= "" then
        fields[#fields + 1] = "<ident:" .. name .. ">" .. (escaped and escape(value) or value) ..
          "</ident:" .. name .. ">"
      end
    end
    optional("firstName", criteria.first_name, true)
    optional("middleName", criteria.middle_name, true)
    optional("birthDate", criteria.birth_date)
    optional("tolerance", criteria.tolerance)
    optional("gender", criteria.gender)
    optional("maximum", criteria.maximum)
    return head .. "<ident:searchPersonByPhoneticCriteriaRequest>" .. customer(ticket_prefix, "ident") ..
      "<ident:legalContext>" .. escape(legal_context) .. "</ident:legalContext>" ..
      "<ident:criteria>" .. table.concat(fields) .. "</ident:criteria>" ..
      "</ident:searchPersonByPhoneticCriteriaRequest>" .. TAIL
  end

  return client
end

M.HEADERS = {
  ["Content-Type"] = "text/xml; charset=utf-8",
  ["SOAPAction"] = '""',
}

return M
