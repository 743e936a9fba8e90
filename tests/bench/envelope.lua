-- SOAP 1.1 requests of PersonRegisterService v1 (xsd/PersonRegister.xsd), with the
-- WS-Security UsernameToken (PasswordText) header and informationCustomer every call needs.
local M = {}

local PASSWORD_TEXT = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"

local function escape(s)
  return (s:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"))
end

local HEAD = [[<?xml version="1.0" encoding="utf-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ]] ..
  [[xmlns:reg="urn:be:raas:types:PersonRegister:v1" xmlns:common="urn:be:raas:types:common:v1" ]] ..
  [[xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">]] ..
  [[<soapenv:Header><wsse:Security><wsse:UsernameToken>]] ..
  [[<wsse:Username>%s</wsse:Username><wsse:Password Type="]] .. PASSWORD_TEXT .. [[">%s</wsse:Password>]] ..
  [[</wsse:UsernameToken></wsse:Security></soapenv:Header><soapenv:Body>]]
local TAIL = [[</soapenv:Body></soapenv:Envelope>]]

local INFORMATION_CUSTOMER = [[<reg:informationCustomer><common:ticket>%s</common:ticket>]] ..
  [[<common:timestampSent>%s</common:timestampSent><common:customerIdentification>]] ..
  [[<common:cbeNumber>%s</common:cbeNumber></common:customerIdentification></reg:informationCustomer>]]

-- A client of one organisation: builds its requests.
function M.client(username, password, cbe)
  local head = string.format(HEAD, escape(username), escape(password))
  local client = { calls = 0 }

  local function customer(ticket_prefix)
    client.calls = client.calls + 1
    local ticket = string.format("%s-%d", ticket_prefix, client.calls):sub(1, 36)
    return string.format(INFORMATION_CUSTOMER, ticket, os.date("!%Y-%m-%dT%H:%M:%SZ"), cbe)
  end

  -- registerPerson: adds the open period starting at `begin` (YYYY-MM-DD).
  function client.register(ticket_prefix, ssin, dossier_type, begin)
    return head .. "<reg:registerPersonRequest>" .. customer(ticket_prefix) ..
      "<reg:ssin>" .. ssin .. "</reg:ssin><reg:dossierType>" .. dossier_type ..
      "</reg:dossierType><reg:period><reg:beginDate>" .. begin ..
      "</reg:beginDate></reg:period></reg:registerPersonRequest>" .. TAIL
  end

  -- consultRegister: every line of the person, all dossier types.
  function client.consult(ticket_prefix, ssin)
    return head .. "<reg:consultRegisterRequest>" .. customer(ticket_prefix) ..
      "<reg:ssin>" .. ssin .. "</reg:ssin></reg:consultRegisterRequest>" .. TAIL
  end

  return client
end

M.HEADERS = {
  ["Content-Type"] = "text/xml; charset=utf-8",
  ["SOAPAction"] = '""',
}

return M
