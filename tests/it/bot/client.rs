//! The bot for clients, walked as a client does in Telegram: the menu, a
//! new request field by field (Cyrillic and Latin), mistakes explained and
//! asked again, a photo attached, the summary's Edit and Cancel, a restart
//! halfway, my requests, notices (a public reply arrives, a note never),
//! rating, and a shared contact joining a web request. What changed is
//! checked over the staff API.

use super::*;
use crate::support::msg;
use crate::support::telegram::Sent;
use idora::i18n::Lang;
use serde_json::Value;

/// A client's chat with the bot, following what it was sent.
struct Chat {
    u: TgUser,
    /// Messages of the bot already looked at.
    seen: usize,
}

impl Chat {
    fn new(id: i64, name: &str, lang: &str) -> Chat {
        Chat { u: TgUser::new(id, name, lang), seen: 0 }
    }

    /// The first message after those seen that `what` accepts (an edit
    /// counts too); it and those before it are then seen.
    async fn next(&mut self, b: &Bot, what: impl Fn(&Sent) -> bool) -> Sent {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let sent = b.tg.sent_to(&b.token, self.u.id);
            if let Some((i, s)) = sent.iter().enumerate().skip(self.seen).find(|(_, s)| what(s)) {
                self.seen = i + 1;
                return s.clone();
            }
            if tokio::time::Instant::now() > deadline {
                let all: Vec<String> = sent.iter().skip(self.seen).map(|s| format!("  {} {:?}", s.method, s.text)).collect();
                panic!("the bot did not send what was expected; after the seen ones it sent:\n{}", all.join("\n"));
            }
            // The outbox paces a chat at one message a second of the server's
            // clock, which the test moves: a notice waiting its turn goes out
            // once a second has passed there.
            if tokio::time::Instant::now() + WAIT > deadline + Duration::from_millis(300) {
                b.s.advance(jiff::SignedDuration::from_millis(500));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The next message holding `needle`.
    async fn expect(&mut self, b: &Bot, needle: &str) -> Sent {
        let n = needle.to_string();
        self.next(b, move |s| s.text.contains(&n)).await
    }

    fn text(&self, b: &Bot, text: &str) {
        b.tg.text(&b.token, &self.u, text);
    }

    /// Presses the button whose text holds `label` on the bot's message `m`.
    fn press(&self, b: &Bot, m: &Sent, label: &str) {
        let data = button(m, label).unwrap_or_else(|| panic!("no button {label:?} on {:?}: {:?}", m.text, m.reply_markup));
        b.tg.press(&b.token, &self.u, m.message_id, &data);
    }
}

/// The callback data of the inline button whose text holds `label`.
fn button(m: &Sent, label: &str) -> Option<String> {
    let rows = m.reply_markup.as_ref()?["inline_keyboard"].as_array()?.clone();
    rows.iter()
        .flat_map(|r| r.as_array().cloned().unwrap_or_default())
        .find(|b| b["text"].as_str().is_some_and(|t| t.contains(label)))
        .and_then(|b| b["callback_data"].as_str().map(String::from))
}

fn buttons(m: &Sent) -> Vec<String> {
    let rows = m.reply_markup.as_ref().and_then(|r| r["inline_keyboard"].as_array().cloned()).unwrap_or_default();
    rows.iter().flat_map(|r| r.as_array().cloned().unwrap_or_default()).filter_map(|b| b["text"].as_str().map(String::from)).collect()
}

fn number_in(text: &str) -> u64 {
    let at = text.find("R-").unwrap_or_else(|| panic!("no request number in {text:?}"));
    text[at + 2..at + 8].parse().unwrap()
}

fn names(uz: &str, ru: &str, en: &str) -> Value {
    json!({"uz": uz, "ru": ru, "en": en})
}

/// The bank's request categories, made by the admin as in the demo: a
/// blocked card, a loan question and a complaint, with their forms.
async fn categories(b: &Bot) {
    let users = b.s.demo_users().await;
    let team = json!([users["employee"], users["manager"]]);
    let option = |k: &str, uz: &str, ru: &str, en: &str| json!({"key": k, "labels": names(uz, ru, en)});
    let field = |k: &str, kind: &str, labels: Value, required: bool, options: Vec<Value>| json!({"key": k, "type": kind, "labels": labels, "required": required, "options": options});
    let cats = [
        json!({"names": names("Karta bloklangan", "Карта заблокирована", "Card blocked"), "color": "#1f6feb", "icon": "card",
        "team_ids": team, "fields": [
            field("card_type", "choice", names("Karta turi", "Тип карты", "Card type"), true,
                vec![option("uzcard", "Uzcard", "Uzcard", "Uzcard"), option("humo", "Humo", "Humo", "Humo"), option("visa", "Visa", "Visa", "Visa")]),
            field("last4", "text", names("Kartaning oxirgi 4 raqami", "Последние 4 цифры карты", "Last 4 digits"), true, vec![]),
            field("when", "date", names("Qachon bloklandi", "Когда заблокирована", "When it was blocked"), false, vec![]),
        ]}),
        json!({"names": names("Kredit bo‘yicha savol", "Вопрос по кредиту", "Loan question"), "color": "#0a7d5a", "icon": "loan",
        "team_ids": team, "fields": [
            field("loan_type", "choice", names("Kredit turi", "Вид кредита", "Loan type"), true,
                vec![option("mortgage", "Ipoteka", "Ипотека", "Mortgage"), option("car", "Avtokredit", "Автокредит", "Car loan")]),
            field("amount", "number", names("Summa (so‘m)", "Сумма (сум)", "Amount (UZS)"), false, vec![]),
            field("contract", "text", names("Shartnoma raqami", "Номер договора", "Contract number"), false, vec![]),
        ]}),
        json!({"names": names("Shikoyat", "Жалоба", "Complaint"), "color": "#b42318", "icon": "complaint",
        "team_ids": team, "fields": [
            field("branch", "choice", names("Filial", "Филиал", "Branch"), true,
                vec![option("head", "Bosh ofis", "Головной офис", "Head office")]),
        ]}),
    ];
    for cat in cats {
        b.s.post(&c(DEMO, "/request-categories"), &b.admin, cat).await.check(201);
    }
}

async fn detail(b: &Bot, id: u64) -> Value {
    let director = b.s.demo_token("director").await;
    b.s.get(&c(DEMO, &format!("/requests/{id}")), &director).await.check(200).body
}

async fn messages(b: &Bot, id: u64) -> Vec<Value> {
    let director = b.s.demo_token("director").await;
    let r = b.s.get(&c(DEMO, &format!("/requests/{id}/messages")), &director).await.check(200);
    r.body["items"].as_array().cloned().unwrap_or_default()
}

/// Files a loan question through the bot (Latin), with `text`: its id.
async fn file_loan(b: &Bot, ch: &mut Chat, text: &str) -> u64 {
    ch.text(b, "📝 Yangi murojaat");
    let m = ch.expect(b, "Murojaatingiz nima haqida").await;
    ch.press(b, &m, "Kredit bo‘yicha savol");
    let m = ch.expect(b, "(1/3) Kredit turi").await;
    ch.press(b, &m, "Ipoteka");
    let m = ch.expect(b, "(2/3) Summa").await;
    ch.press(b, &m, "O‘tkazib yuborish");
    let m = ch.expect(b, "(3/3) Shartnoma").await;
    ch.press(b, &m, "O‘tkazib yuborish");
    ch.expect(b, "o‘z so‘zlaringiz").await;
    ch.text(b, text);
    let m = ch.expect(b, "Yozib oldim").await;
    ch.press(b, &m, "Keyingi");
    let m = ch.expect(b, "tekshiring").await;
    ch.press(b, &m, "Yuborish");
    number_in(&ch.expect(b, "yuborildi").await.text)
}

#[tokio::test]
async fn a_client_files_in_russian_field_by_field_with_a_photo_and_staff_see_it() {
    let b = Bot::start().await;
    categories(&b).await;
    let mut ch = Chat::new(700_001, "Дилшод", "ru");
    ch.text(&b, "/start");
    let m = ch.expect(&b, "Выберите").await;
    let keyboard = m.reply_markup.clone().unwrap().to_string();
    for label in ["📝 Новая заявка", "📋 Мои заявки", "🎫", "🌐", "📱 Отправить номер телефона"]
    {
        assert!(keyboard.contains(label), "{label} in {keyboard}");
    }
    assert!(keyboard.contains("request_contact"), "the contact button asks Telegram for the number: {keyboard}");

    ch.text(&b, "📝 Новая заявка");
    let m = ch.expect(&b, "О чём ваша заявка").await;
    assert!(buttons(&m).iter().any(|t| t == "Жалоба"), "categories in Russian: {:?}", buttons(&m));
    ch.press(&b, &m, "Карта заблокирована");
    let m = ch.expect(&b, "(1/3) Тип карты").await;
    assert!(!buttons(&m).iter().any(|t| t.contains("Пропустить")), "a required field has no Skip");
    // A choice typed rather than pressed is refused when it is none of them.
    ch.text(&b, "Мастеркард");
    ch.expect(&b, &msg(Lang::Ru, "validation.request_choice")).await;
    let m = ch.expect(&b, "(1/3) Тип карты").await;
    ch.press(&b, &m, "Humo");
    ch.expect(&b, "(2/3) Последние 4 цифры карты").await;
    ch.text(&b, "0932");
    let m = ch.expect(&b, "(3/3) Когда заблокирована").await;
    assert!(m.text.contains("(необязательно)"), "{}", m.text);
    ch.text(&b, "вчера");
    ch.expect(&b, "Это не дата").await;
    ch.expect(&b, "(3/3)").await;
    ch.text(&b, "31.02.2026");
    ch.expect(&b, "Это не дата").await;
    ch.expect(&b, "(3/3)").await;
    ch.text(&b, "01.03.2026");
    ch.expect(&b, "Опишите заявку").await;
    ch.text(&b, "Карта заблокирована после трёх попыток PIN.");
    ch.expect(&b, "Записано").await;
    let photo = b"\x89PNG\r\n\x1a\n-a photo of the card-".repeat(20);
    b.tg.photo(&b.token, &ch.u, None, &photo, "");
    let m = ch.expect(&b, "Файл прикреплён").await;
    ch.press(&b, &m, "Далее");
    let m = ch.expect(&b, "Проверьте заявку").await;
    for part in ["Карта заблокирована", "Тип карты: Humo", "0932", "01.03.2026", "трёх попыток PIN", "Файлы: photo-"]
    {
        assert!(m.text.contains(part), "{part} in the summary: {}", m.text);
    }
    ch.press(&b, &m, "Отправить");
    let id = number_in(&ch.expect(&b, "отправлена").await.text);

    let r = detail(&b, id).await;
    assert_eq!(r["channel"], "telegram");
    assert_eq!(r["client"]["name"], "Дилшод");
    assert_eq!(r["client"]["telegram"], true);
    assert_eq!(r["client"]["lang"], "ru");
    let fields: Vec<(String, String)> =
        r["fields"].as_array().unwrap().iter().map(|f| (f["key"].as_str().unwrap().into(), f["value"].as_str().unwrap().into())).collect();
    let want: Vec<(String, String)> =
        [("card_type", "humo"), ("last4", "0932"), ("when", "2026-03-01")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    assert_eq!(fields, want);
    let first = &messages(&b, id).await[0];
    assert_eq!(first["from_client"], true);
    assert!(first["text"].as_str().unwrap().contains("трёх попыток PIN"));
    assert_eq!(first["files"].as_array().unwrap().len(), 1, "the photo is on the request: {first}");
    assert_eq!(first["files"][0]["size"].as_u64(), Some(photo.len() as u64));
    // The template's notice follows, in the client's language.
    ch.expect(&b, &format!("R-{id:06}")).await;
}

#[tokio::test]
async fn a_latin_walk_explains_a_wrong_number_edits_from_the_summary_and_cancels() {
    let b = Bot::start().await;
    categories(&b).await;
    let mut ch = Chat::new(700_002, "Nodira", "uz");
    ch.text(&b, "/start");
    ch.expect(&b, "").await;
    ch.text(&b, "📝 Yangi murojaat");
    let m = ch.expect(&b, "Murojaatingiz nima haqida").await;
    ch.press(&b, &m, "Kredit bo‘yicha savol");
    ch.expect(&b, "(1/3) Kredit turi").await;
    // Typed, by its label.
    ch.text(&b, "ipoteka");
    ch.expect(&b, "(2/3) Summa (so‘m)").await;
    ch.text(&b, "ko‘p");
    ch.expect(&b, &msg(Lang::Uz, "validation.request_number")).await;
    ch.expect(&b, "(2/3)").await;
    ch.text(&b, "450000000");
    let m = ch.expect(&b, "(3/3) Shartnoma raqami").await;
    ch.press(&b, &m, "O‘tkazib yuborish");
    ch.expect(&b, "o‘z so‘zlaringiz").await;
    ch.text(&b, "Ikkilamchi uy uchun ipoteka hujjatlari");
    let m = ch.expect(&b, "Yozib oldim").await;
    ch.press(&b, &m, "Keyingi");
    let m = ch.expect(&b, "tekshiring").await;
    assert!(m.text.contains("Kredit turi: Ipoteka") && m.text.contains("450000000"), "{}", m.text);
    ch.press(&b, &m, "O‘zgartirish");
    let m = ch.expect(&b, "Nimani o‘zgartirasiz").await;
    ch.press(&b, &m, "Summa");
    ch.expect(&b, "(2/3) Summa").await;
    ch.text(&b, "600000000");
    let m = ch.expect(&b, "tekshiring").await;
    assert!(m.text.contains("600000000") && !m.text.contains("450000000"), "{}", m.text);
    assert!(m.text.contains("Ikkilamchi uy"), "the rest is kept: {}", m.text);
    ch.press(&b, &m, "Bekor qilish");
    ch.expect(&b, "bekor qilindi").await;
    // Nothing was filed.
    ch.text(&b, "📋 Murojaatlarim");
    ch.expect(&b, "hali murojaat yo‘q").await;
    // Unknown input: the hint and the menu.
    ch.text(&b, "salom");
    let m = ch.expect(&b, &msg(Lang::Uz, "bot.hint")).await;
    assert!(m.reply_markup.unwrap().to_string().contains("📝 Yangi murojaat"));
}

#[tokio::test]
async fn a_form_halfway_continues_after_a_restart() {
    let b = Bot::start().await;
    categories(&b).await;
    let mut ch = Chat::new(700_003, "Sardor", "uz");
    ch.text(&b, "📝 Yangi murojaat");
    let m = ch.expect(&b, "Murojaatingiz nima haqida").await;
    ch.press(&b, &m, "Karta bloklangan");
    let m = ch.expect(&b, "(1/3) Karta turi").await;
    ch.press(&b, &m, "Visa");
    ch.expect(&b, "(2/3)").await;

    let Bot { s, tg, token, admin } = b;
    let s = s.restart().await;
    tg.wait_polling(&token, true, WAIT).await;
    let b = Bot { s, tg, token, admin };

    ch.text(&b, "7781");
    let m = ch.expect(&b, "(3/3)").await;
    ch.press(&b, &m, "O‘tkazib yuborish");
    ch.expect(&b, "o‘z so‘zlaringiz").await;
    ch.text(&b, "Xorijiy saytda to‘lov o‘tmayapti");
    ch.expect(&b, "Yozib oldim").await;
    b.tg.voice(&b.token, &ch.u, None, &[7u8; 4096]);
    ch.expect(&b, "Fayl biriktirildi: voice-").await;
    b.tg.document(&b.token, &ch.u, None, "chek.pdf", "application/pdf", b"%PDF-1.4 a receipt");
    let m = ch.expect(&b, "Fayl biriktirildi: chek.pdf").await;
    ch.press(&b, &m, "Keyingi");
    let m = ch.expect(&b, "tekshiring").await;
    assert!(m.text.contains("Visa") && m.text.contains("7781"), "the answers before the restart are kept: {}", m.text);
    ch.press(&b, &m, "Yuborish");
    let id = number_in(&ch.expect(&b, "yuborildi").await.text);
    let r = detail(&b, id).await;
    assert_eq!(r["fields"][0]["value"], "visa");
    assert_eq!(r["fields"][1]["value"], "7781");
    let files: Vec<String> =
        messages(&b, id).await[0]["files"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_string()).collect();
    assert!(files.len() == 2 && files[0].ends_with(".ogg") && files[1] == "chek.pdf", "the voice and the document: {files:?}");
}

#[tokio::test]
async fn a_public_reply_reaches_telegram_a_note_never_and_done_asks_for_a_rating() {
    let b = Bot::start().await;
    categories(&b).await;
    let users = b.s.demo_users().await;
    let mut ch = Chat::new(700_004, "Malika", "uz");
    let id = file_loan(&b, &mut ch, "Ipoteka uchun qanday hujjatlar kerak?").await;
    let path = |p: &str| c(DEMO, &format!("/requests/{id}{p}"));
    let (director, employee) = (b.s.demo_token("director").await, b.s.demo_token("employee").await);
    b.s.post(&path("/assign"), &director, json!({"assignee_id": users["employee"]})).await.check(200);
    b.s.post(&path("/messages"), &employee, json!({"text": "Ichki: mijoz tarixini tekshirish", "internal": true})).await.check(201);
    b.s.post(&path("/messages"), &employee, json!({"text": "Pasport va daromad ma’lumotnomasi kerak", "internal": false})).await.check(201);
    let m = ch.expect(&b, "Pasport va daromad").await;
    assert!(m.text.contains(&format!("R-{id:06}")), "the template's words with the reply: {}", m.text);
    assert!(!m.text.contains("/r/demo-"), "no bare path a phone cannot open: {}", m.text);
    assert!(button(&m, "Ochish").is_some(), "{:?}", m.reply_markup);

    // My requests: the status and the last public reply; the story, never the note.
    ch.text(&b, "📋 Murojaatlarim");
    let m = ch.expect(&b, "Murojaatlaringiz").await;
    assert!(m.text.contains(&format!("R-{id:06}")) && m.text.contains("Pasport va daromad"), "{}", m.text);
    ch.press(&b, &m, &format!("R-{id:06}"));
    let m = ch.expect(&b, "Tarix").await;
    let story = m.text.split("Tarix:").nth(1).unwrap().to_string();
    let at = |s: &str| story.find(s).unwrap_or_else(|| panic!("{s} in the story: {story}"));
    assert!(at("Holati: Yangi") < at("Ipoteka uchun qanday hujjatlar") && at("Ipoteka uchun") < at("Pasport va daromad"), "{story}");
    assert!(!story.contains("Ichki"), "{story}");
    ch.press(&b, &m, "Yozish");
    ch.expect(&b, "xabaringizni yozing").await;
    ch.text(&b, "Rahmat, ertaga olib kelaman");
    ch.expect(&b, "xabaringiz yuborildi").await;
    let last = messages(&b, id).await.last().cloned().unwrap();
    assert_eq!((last["text"].as_str(), last["from_client"].as_bool()), (Some("Rahmat, ertaga olib kelaman"), Some(true)));
    // A document goes in the same way, from the request's Write button.
    ch.text(&b, "📋 Murojaatlarim");
    let m = ch.expect(&b, "Murojaatlaringiz").await;
    ch.press(&b, &m, &format!("R-{id:06}"));
    let m = ch.expect(&b, "Tarix").await;
    assert!(m.text.contains("Rahmat, ertaga"), "the client's own message is in the story: {}", m.text);
    ch.press(&b, &m, "Yozish");
    ch.expect(&b, "xabaringizni yozing").await;
    b.tg.document(&b.token, &ch.u, None, "daromad.pdf", "application/pdf", b"%PDF-1.4 income");
    ch.expect(&b, "xabaringiz yuborildi").await;
    let last = messages(&b, id).await.last().cloned().unwrap();
    assert_eq!(last["files"][0]["name"], "daromad.pdf");
    assert_eq!(last["from_client"], true);

    for (who, to) in [(&employee, "in_progress"), (&employee, "pending_review"), (&director, "done")] {
        b.s.post(&path("/status"), who, json!({"status": to})).await.check(200);
    }
    let m = ch.next(&b, |s| button(s, "⭐⭐⭐⭐⭐").is_some()).await;
    assert!(m.text.contains(&format!("R-{id:06}")), "{}", m.text);
    ch.press(&b, &m, "⭐⭐⭐⭐");
    let m = ch.expect(&b, "Bahoingiz uchun rahmat").await;
    assert!(button(&m, "O‘tkazib yuborish").is_some());
    ch.text(&b, "Tez va tushunarli");
    ch.expect(&b, "Izohingiz saqlandi").await;
    let r = detail(&b, id).await;
    assert_eq!(r["rating"], 4);
    assert_eq!(r["rating_comment"], "Tez va tushunarli");
    assert!(b.tg.sent_to(&b.token, ch.u.id).iter().all(|s| !s.text.contains("Ichki")), "an internal note never reaches the client");
}

#[tokio::test]
async fn sharing_the_phone_verifies_it_and_joins_a_web_request() {
    let b = Bot::start().await;
    categories(&b).await;
    let cats = b.s.get(&c(DEMO, "/public/request-categories?lang=uz"), "").await.check(200).body;
    let complaint = cats.as_array().unwrap().iter().find(|c| c["name"] == "Shikoyat").unwrap()["id"].as_u64().unwrap();
    let web =
        b.s.post(
            &c(DEMO, "/public/requests"),
            "",
            json!({"category_id": complaint, "text": "Kassada uzoq kutdim", "fields": {"branch": "head"},
                   "client": {"name": "Jamshid", "phone": "+998 90 777 66 55"}}),
        )
        .await
        .check(201);
    let web_id = web.id();
    let mut ch = Chat::new(700_005, "Jamshid", "uz");
    ch.text(&b, "📋 Murojaatlarim");
    ch.expect(&b, "hali murojaat yo‘q").await;
    b.tg.contact(&b.token, &ch.u, "998907776655");
    let m = ch.expect(&b, "+998907776655 raqamingiz tasdiqlandi").await;
    assert!(m.text.contains(": 1."), "one request joined: {}", m.text);
    ch.text(&b, "📋 Murojaatlarim");
    let m = ch.expect(&b, "Murojaatlaringiz").await;
    assert!(m.text.contains(&format!("R-{web_id:06}")), "{}", m.text);
    let r = detail(&b, web_id).await;
    assert_eq!(r["client"]["phone_verified"], true);
    assert_eq!(r["client"]["telegram"], true);
    // A request filed in the bot now is the same client's.
    let id = file_loan(&b, &mut ch, "Kredit kartasi").await;
    assert_eq!(detail(&b, id).await["client"]["id"], r["client"]["id"]);
}

#[tokio::test]
async fn a_sixth_request_within_the_hour_is_kept_and_refused_until_later() {
    let b = Bot::start().await;
    categories(&b).await;
    let state = &b.s.running.state;
    let tenant = state.tenants.get(DEMO).unwrap();
    let list = b.s.get(&c(DEMO, "/request-categories"), &b.admin).await.check(200).body;
    let loan = list.as_array().unwrap().iter().find(|c| c["names"]["uz"] == "Kredit bo‘yicha savol").unwrap()["id"].as_u64().unwrap();
    let mut ch = Chat::new(700_009, "Jamshid", "uz");
    for i in 0..5 {
        let input = idora::requests::service::NewRequest {
            category_id: loan,
            subject: format!("Savol {i}"),
            text: format!("Savol {i}"),
            fields: [("loan_type".to_string(), "mortgage".to_string()), ("amount".to_string(), "1000".to_string())].into_iter().collect(),
            file_ids: vec![],
            client: idora::requests::service::ClientInput { name: "Jamshid".into(), telegram_id: Some(ch.u.id), ..Default::default() },
            channel: Some(idora::store::schema::RequestChannel::Telegram),
            priority: None,
        };
        idora::requests::service::create(state, &tenant, &idora::auth::Caller::Public, input).await.unwrap();
    }
    ch.text(&b, "📝 Yangi murojaat");
    let m = ch.expect(&b, "Murojaatingiz nima haqida").await;
    ch.press(&b, &m, "Kredit bo‘yicha savol");
    ch.expect(&b, "(1/3) Kredit turi").await;
    ch.text(&b, "ipoteka");
    ch.expect(&b, "(2/3)").await;
    ch.text(&b, "5000");
    let m = ch.expect(&b, "(3/3)").await;
    ch.press(&b, &m, "O‘tkazib yuborish");
    ch.expect(&b, "o‘z so‘zlaringiz").await;
    ch.text(&b, "Yana bir savol");
    let m = ch.expect(&b, "Yozib oldim").await;
    ch.press(&b, &m, "Keyingi");
    let summary = ch.expect(&b, "tekshiring").await;
    ch.press(&b, &summary, "Yuborish");
    ch.expect(&b, &msg(Lang::Uz, "bot.client.too_many")).await;
    let mine = idora::requests::clients::of_telegram(tenant.db().unwrap(), ch.u.id, 20).unwrap();
    assert_eq!(mine.len(), 5, "the sixth was not filed");
    // An hour on, the same summary sends it.
    b.s.advance(jiff::SignedDuration::from_mins(61));
    ch.press(&b, &summary, "Yuborish");
    ch.expect(&b, "R-").await;
    assert_eq!(idora::requests::clients::of_telegram(tenant.db().unwrap(), ch.u.id, 20).unwrap().len(), 6);
}
