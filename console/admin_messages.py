"""The words of the admin pages (``admin.*``), in English and Spanish."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "admin.title": {"en": "Administration", "es": "Administración"},
    "admin.tabs": {"en": "Administration sections", "es": "Secciones de administración"},
    "admin.tab.staff": {"en": "Staff accounts", "es": "Cuentas del personal"},
    "admin.tab.clients": {"en": "Portals and banks", "es": "Portales y bancos"},
    "admin.tab.keys": {"en": "Signing keys", "es": "Claves de firma"},
    "admin.done.staff_added": {"en": "The staff account was added.", "es": "Se añadió la cuenta del personal."},
    "admin.done.roles_changed": {"en": "The roles were changed.", "es": "Se cambiaron las funciones."},
    "admin.done.staff_disabled": {"en": "The account was disabled; its sessions have ended.",
                                  "es": "La cuenta fue desactivada; sus sesiones han terminado."},
    "admin.done.client_disabled": {"en": "The client was disabled and its tokens revoked.",
                                   "es": "El cliente fue desactivado y sus tokens revocados."},
    "admin.done.keys_rotated": {"en": "New signing keys are published; they sign after the lead time.",
                                "es": "Se publicaron nuevas claves de firma; firmarán tras el tiempo de antelación."},
    "admin.refused.own_admin_role": {"en": "You cannot remove your own admin role; ask another administrator.",
                                     "es": "No puede quitarse su propia función de administrador; pídalo a otro "
                                           "administrador."},
    "admin.refused.own_account": {"en": "You cannot disable your own account; ask another administrator.",
                                  "es": "No puede desactivar su propia cuenta; pídalo a otro administrador."},
    "admin.refused.confirm": {"en": "Tick the confirmation box first.",
                              "es": "Marque primero la casilla de confirmación."},
    "admin.refused.console_client": {
        "en": "The console's own registration cannot be disabled here: no staff member could sign in any more.",
        "es": "El registro propio de la consola no puede desactivarse aquí: ningún miembro del personal podría "
              "iniciar sesión."},

    "admin.staff.heading": {"en": "Who may use the console", "es": "Quién puede usar la consola"},
    "admin.staff.name": {"en": "Name", "es": "Nombre"},
    "admin.staff.name_hint": {"en": "As it will appear in the audit trail, e.g. “Officer María Chan, Belmopan”.",
                              "es": "Como aparecerá en el registro de auditoría, p. ej. «Oficial María Chan, "
                                    "Belmopán»."},
    "admin.staff.roles": {"en": "Roles", "es": "Funciones"},
    "admin.staff.roles_of": {"en": "Roles of {name}", "es": "Funciones de {name}"},
    "admin.staff.save_roles": {"en": "Save roles", "es": "Guardar funciones"},
    "admin.staff.save_roles_of": {"en": "Save the roles of {name}", "es": "Guardar las funciones de {name}"},
    "admin.staff.status": {"en": "Status", "es": "Estado"},
    "admin.staff.active": {"en": "active", "es": "activo"},
    "admin.staff.disabled": {"en": "disabled {when}", "es": "desactivado {when}"},
    "admin.staff.you": {"en": "you", "es": "usted"},
    "admin.staff.created": {"en": "added by {who} on {when}", "es": "añadido por {who} el {when}"},
    "admin.staff.disable": {"en": "Disable", "es": "Desactivar"},
    "admin.staff.disable_named": {"en": "Disable the account of {name}", "es": "Desactivar la cuenta de {name}"},
    "admin.staff.confirm_disable": {"en": "Yes, stop {name} from signing in",
                                    "es": "Sí, impedir que {name} inicie sesión"},
    "admin.staff.add": {"en": "Add a staff member", "es": "Añadir un miembro del personal"},
    "admin.staff.add_hint": {"en": "Staff sign in with their own national identity (a passkey): enrol them first, "
                                   "then give their UIN the roles they need, and no more.",
                             "es": "El personal inicia sesión con su propia identidad nacional (una llave de acceso): "
                                   "inscríbalo primero y luego dé a su UIN las funciones que necesite, y no más."},
    "admin.staff.add_button": {"en": "Add the account", "es": "Añadir la cuenta"},
    "admin.role_hint.officer": {"en": "enrols people and runs registration drives",
                                "es": "inscribe personas y realiza jornadas de registro"},
    "admin.role_hint.adjudicator": {"en": "decides possible duplicates and sees their photos",
                                    "es": "resuelve posibles duplicados y ve sus fotos"},
    "admin.role_hint.auditor": {"en": "reads and exports the audit trail",
                                "es": "consulta y exporta el registro de auditoría"},
    "admin.role_hint.admin": {"en": "manages staff, portals and keys", "es": "gestiona personal, portales y claves"},

    "admin.clients.heading": {"en": "Registered portals and banks", "es": "Portales y bancos registrados"},
    "admin.clients.name": {"en": "Name shown to citizens", "es": "Nombre mostrado a los ciudadanos"},
    "admin.clients.name_hint": {"en": "Citizens see it when they are asked to consent.",
                                "es": "Los ciudadanos lo ven cuando se les pide su consentimiento."},
    "admin.clients.auth": {"en": "Client authentication", "es": "Autenticación del cliente"},
    "admin.clients.entitlements": {"en": "Entitlements", "es": "Autorizaciones"},
    "admin.clients.entitlement.uin": {"en": "may receive the UIN claim", "es": "puede recibir el dato UIN"},
    "admin.clients.entitlement.kyc": {"en": "may request verified claims and KYC attestations (banks)",
                                      "es": "puede pedir datos verificados y atestaciones KYC (bancos)"},
    "admin.clients.scopes": {"en": "Scopes", "es": "Ámbitos"},
    "admin.clients.scopes_hint": {"en": "None ticked: openid profile email phone address.",
                                  "es": "Si no marca ninguno: openid profile email phone address."},
    "admin.clients.redirect_uris": {"en": "Redirect URIs", "es": "URI de redirección"},
    "admin.clients.redirect_hint": {"en": "One per line, exact (https; http only on localhost).",
                                    "es": "Una por línea, exactas (https; http solo en localhost)."},
    "admin.clients.jwks_uri": {"en": "JWKS URI (private_key_jwt)", "es": "URI del JWKS (private_key_jwt)"},
    "admin.clients.jwks": {"en": "or the public JWK Set (private_key_jwt)",
                           "es": "o el JWK Set público (private_key_jwt)"},
    "admin.clients.jwks_hint": {"en": "Only for private_key_jwt: exactly one of the two, public keys only.",
                                "es": "Solo para private_key_jwt: exactamente uno de los dos, solo claves públicas."},
    "admin.clients.options": {"en": "Options", "es": "Opciones"},
    "admin.clients.public_subject": {"en": "Same subject identifier at every portal (default: one per portal)",
                                     "es": "El mismo identificador de sujeto en todos los portales (por defecto: uno "
                                           "por portal)"},
    "admin.clients.require_par": {"en": "Authorization requests must be pushed (PAR, RFC 9126)",
                                  "es": "Las solicitudes de autorización deben enviarse por PAR (RFC 9126)"},
    "admin.clients.refresh_token": {"en": "Issue refresh tokens (the refresh_token grant)",
                                    "es": "Emitir tokens de actualización (la concesión refresh_token)"},
    "admin.clients.nonce_instead_of_pkce": {
        "en": "May send a nonce instead of PKCE (confidential clients only; for OpenID certification's Basic OP plan)",
        "es": "Puede enviar un nonce en lugar de PKCE (solo clientes confidenciales; para el plan Basic OP de la "
              "certificación OpenID)"},
    "admin.clients.no_pkce_badge": {"en": "nonce instead of PKCE", "es": "nonce en lugar de PKCE"},
    "admin.clients.id_token_alg": {"en": "ID token signature", "es": "Firma del token de identidad"},
    "admin.clients.alg_default": {"en": "The provider's default", "es": "La predeterminada del proveedor"},
    "admin.clients.post_logout": {"en": "Post-logout redirect URIs (one per line)",
                                  "es": "URI tras cerrar sesión (una por línea)"},
    "admin.clients.backchannel_logout_uri": {"en": "Back-channel logout URI (optional)",
                                             "es": "URI de cierre de sesión por canal posterior (opcional)"},
    "admin.clients.backchannel_hint": {
        "en": "civid posts a logout token here when the citizen signs out (https; http only on localhost).",
        "es": "civid envía aquí un token de cierre de sesión cuando el ciudadano cierra sesión (https; http solo "
              "en localhost)."},
    "admin.clients.backchannel_session": {"en": "The portal needs the session id (sid) in logout tokens",
                                          "es": "El portal necesita el identificador de sesión (sid) en los tokens "
                                                "de cierre de sesión"},
    "admin.clients.backchannel_badge": {"en": "back-channel logout", "es": "cierre de sesión por canal posterior"},
    "admin.clients.contacts": {"en": "Contact e-mails (one per line)", "es": "Correos de contacto (uno por línea)"},
    "admin.clients.register": {"en": "Register a portal or bank", "es": "Registrar un portal o banco"},
    "admin.clients.register_hint": {"en": "The same registration as `civid clients add`; the secret is shown once.",
                                    "es": "El mismo registro que `civid clients add`; el secreto se muestra una vez."},
    "admin.clients.register_button": {"en": "Register", "es": "Registrar"},
    "admin.clients.created": {"en": "{name} is registered", "es": "{name} quedó registrado"},
    "admin.clients.secret_once": {"en": "Copy the secret now into the portal's secret store: it is shown only this "
                                        "once and only its hash is kept.",
                                  "es": "Copie ahora el secreto en el almacén de secretos del portal: se muestra solo "
                                        "esta vez y solo se guarda su hash."},
    "admin.clients.no_secret": {"en": "No secret: the portal signs its own assertions (private_key_jwt).",
                                "es": "Sin secreto: el portal firma sus propias aserciones (private_key_jwt)."},
    "admin.clients.console": {"en": "this console", "es": "esta consola"},
    "admin.clients.registered": {"en": "registered by {who} on {when}", "es": "registrado por {who} el {when}"},
    "admin.clients.subject.pairwise": {"en": "pairwise subjects", "es": "sujetos por portal"},
    "admin.clients.subject.public": {"en": "public subjects", "es": "sujetos públicos"},
    "admin.clients.disabled": {"en": "disabled {when}", "es": "desactivado {when}"},
    "admin.clients.disable": {"en": "Disable", "es": "Desactivar"},
    "admin.clients.disable_named": {"en": "Disable {name}", "es": "Desactivar {name}"},
    "admin.clients.confirm_disable": {"en": "Yes, stop it and revoke its tokens",
                                      "es": "Sí, detenerlo y revocar sus tokens"},

    "admin.keys.heading": {"en": "OpenID signing keys", "es": "Claves de firma OpenID"},
    "admin.keys.intro": {"en": "ID tokens, access tokens and KYC attestations are signed with these keys. Rotate them "
                               "every {days} days: a new key is published at once and signs {minutes} minutes later, "
                               "so portals that cache the key set learn it first.",
                         "es": "Los tokens de identidad, de acceso y las atestaciones KYC se firman con estas claves. "
                               "Rótelas cada {days} días: una clave nueva se publica enseguida y firma {minutes} "
                               "minutos después, para que los portales que guardan el conjunto de claves la conozcan "
                               "antes."},
    "admin.keys.due": {"en": "A rotation is due: an active key is older than the key lifetime.",
                       "es": "Corresponde rotar: una clave activa supera su vida útil."},
    "admin.keys.published": {"en": "Published", "es": "Publicada"},
    "admin.keys.signs_from": {"en": "Signs from", "es": "Firma desde"},
    "admin.keys.retired": {"en": "Stops signing", "es": "Deja de firmar"},
    "admin.keys.expires": {"en": "Leaves the key set", "es": "Sale del conjunto de claves"},
    "admin.keys.state.pending": {"en": "published, not yet signing", "es": "publicada, aún no firma"},
    "admin.keys.state.active": {"en": "signing", "es": "firmando"},
    "admin.keys.state.retired": {"en": "verifying only", "es": "solo verificación"},
    "admin.keys.state.expired": {"en": "expired", "es": "caducada"},
    "admin.keys.rotate": {"en": "Rotate the signing keys", "es": "Rotar las claves de firma"},
    "admin.keys.rotate_hint": {"en": "Nothing in flight breaks: the current keys sign for {minutes} more minutes and "
                                     "stay published until every token they signed has expired.",
                               "es": "Nada en curso se interrumpe: las claves actuales firman {minutes} minutos más y "
                                     "siguen publicadas hasta que caduque todo token que firmaron."},
    "admin.keys.algs": {"en": "Algorithms", "es": "Algoritmos"},
    "admin.keys.confirm": {"en": "Yes, rotate these keys now", "es": "Sí, rotar estas claves ahora"},
    "admin.keys.rotate_button": {"en": "Rotate", "es": "Rotar"},
}

# Refusals of the staff-account and client registries (``console.staff``, ``enrollment.uin``, ``idp.clients``,
# ``console.admin_pages.client_metadata``), by the code of the error; an error without one is shown in English.
ERRORS: dict[str, dict[str, str]] = {
    "admin.error.uin_format": {"en": "A UIN is {length} digits, not starting with 0.",
                               "es": "Un UIN tiene {length} cifras y no empieza por 0."},
    "admin.error.uin_check_digit": {"en": "The UIN's check digit is wrong (mistyped?).",
                                    "es": "El dígito de control del UIN no es correcto (¿error al escribirlo?)."},
    "admin.error.uin_not_enrolled": {
        "en": "There is no identity with UIN {uin}: staff sign in with their own national identity, so enrol them "
              "first.",
        "es": "No hay ninguna identidad con el UIN {uin}: el personal inicia sesión con su propia identidad "
              "nacional, así que inscríbalo primero."},
    "admin.error.staff_exists": {"en": "UIN {uin} already has a staff account; change its roles instead.",
                                 "es": "El UIN {uin} ya tiene una cuenta del personal; cambie sus funciones."},
    "admin.error.staff_name_required": {"en": "A staff member needs a name (shown in the audit trail).",
                                        "es": "Un miembro del personal necesita un nombre (aparece en el registro de "
                                              "auditoría)."},
    "admin.error.roles_required": {"en": "Tick at least one role: roles must be chosen among {roles}.",
                                   "es": "Marque al menos una función: las funciones se eligen entre {roles}."},
    "admin.error.roles_unknown": {"en": "Unknown roles: {unknown}; roles must be chosen among {roles}.",
                                  "es": "Funciones desconocidas: {unknown}; las funciones se eligen entre {roles}."},
    "admin.error.staff_not_found": {"en": "There is no staff account {id}.",
                                    "es": "No existe la cuenta del personal {id}."},

    "admin.error.client_name_required": {"en": "The name shown to citizens is required.",
                                         "es": "El nombre mostrado a los ciudadanos es obligatorio."},
    "admin.error.client_name_too_long": {"en": "The name shown to citizens must be at most 200 characters.",
                                         "es": "El nombre mostrado a los ciudadanos admite como máximo 200 "
                                               "caracteres."},
    "admin.error.redirect_uri_required": {"en": "At least one redirect URI is required.",
                                          "es": "Se necesita al menos una URI de redirección."},
    "admin.error.redirect_uri_relative": {"en": "The URI {uri} must be absolute.",
                                          "es": "La URI {uri} debe ser absoluta."},
    "admin.error.redirect_uri_fragment": {"en": "The URI {uri} must not contain a fragment (#…).",
                                          "es": "La URI {uri} no debe contener un fragmento (#…)."},
    "admin.error.redirect_uri_wildcard": {"en": "The URI {uri}: wildcards are not allowed.",
                                          "es": "La URI {uri}: no se permiten comodines."},
    "admin.error.redirect_uri_http": {"en": "The URI {uri} must use https (http only on localhost).",
                                      "es": "La URI {uri} debe usar https (http solo en localhost)."},
    "admin.error.redirect_uri_scheme": {"en": "The URI {uri} must use https.", "es": "La URI {uri} debe usar https."},
    "admin.error.sector_identifier_needed": {
        "en": "Redirect URIs on several hosts need an explicit sector identifier; register one host per portal.",
        "es": "Las URI de redirección en varios servidores necesitan un identificador de sector explícito; "
              "registre un solo servidor por portal."},
    "admin.error.auth_method_unknown": {"en": "The client authentication must be one of {methods}.",
                                        "es": "La autenticación del cliente debe ser una de {methods}."},
    "admin.error.private_key_jwt_keys": {"en": "private_key_jwt needs exactly one of a JWKS URI or a JWK Set.",
                                         "es": "private_key_jwt necesita exactamente uno de los dos: una URI de JWKS "
                                               "o un JWK Set."},
    "admin.error.jwks_without_private_key_jwt": {"en": "A JWKS URI or JWK Set goes with private_key_jwt only.",
                                                 "es": "Una URI de JWKS o un JWK Set solo van con private_key_jwt."},
    "admin.error.jwks_not_json": {"en": "The JWK Set is not valid JSON (line {line}, column {column}).",
                                  "es": "El JWK Set no es JSON válido (línea {line}, columna {column})."},
    "admin.error.jwks_not_a_set": {"en": 'The JWK Set must look like {{"keys": [...]}}.',
                                   "es": 'El JWK Set debe tener la forma {{"keys": [...]}}.'},
    "admin.error.jwks_private_key": {"en": "The JWK Set holds a private key; register the portal's public key only.",
                                     "es": "El JWK Set contiene una clave privada; registre solo la clave pública "
                                           "del portal."},
    "admin.error.jwks_uri_https": {"en": "The JWKS URI must use https.", "es": "La URI del JWKS debe usar https."},
    "admin.error.backchannel_logout_uri_too_long": {"en": "The back-channel logout URI must be at most 2000 "
                                                          "characters.",
                                                    "es": "La URI de cierre de sesión por canal posterior debe "
                                                          "tener como máximo 2000 caracteres."},
    "admin.error.scopes_unknown": {"en": "Unknown scopes: {scopes}.", "es": "Ámbitos desconocidos: {scopes}."},
    "admin.error.entitlements_unknown": {"en": "Unknown entitlements: {entitlements}; choose among {allowed}.",
                                         "es": "Autorizaciones desconocidas: {entitlements}; elija entre {allowed}."},
    "admin.error.subject_type": {"en": "The subject identifier must be pairwise or public.",
                                 "es": "El identificador de sujeto debe ser por portal (pairwise) o público."},
    "admin.error.id_token_alg": {"en": "The ID token signature must be ES256 or RS256.",
                                 "es": "La firma del token de identidad debe ser ES256 o RS256."},
    "admin.error.grant_types_unsupported": {"en": "Unsupported grant types: {grant_types}; choose among {allowed}.",
                                            "es": "Tipos de concesión no admitidos: {grant_types}; elija entre "
                                                  "{allowed}."},
    "admin.error.grant_types_no_code": {"en": "The grant types must include authorization_code.",
                                        "es": "Los tipos de concesión deben incluir authorization_code."},
    "admin.error.pkce_public_client": {"en": "Only a confidential client may use a nonce instead of PKCE.",
                                       "es": "Solo un cliente confidencial puede usar un nonce en lugar de PKCE."},
    "admin.error.client_unknown": {"en": "This client is unknown or already disabled.",
                                   "es": "Este cliente es desconocido o ya está desactivado."},
}
