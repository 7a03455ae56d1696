app-name = MailPay

## 支払いの状態
state-draft = 下書き
state-sending = 送信中
state-sent = 送信済み
state-awaiting-confirmation = 確認待ち
state-approved = 承認済み
state-settled = 決済完了
state-rejected = 拒否
state-declined = 辞退
state-expired = 期限切れ
state-failed = 失敗

## 拒否の理由
reason-password-mismatch = 請求のパスワードAが支払依頼のものと異なります
reason-amount-mismatch = 請求金額が支払依頼と異なります
reason-payee-mismatch = 請求が支払先とは別の注文先から来ています
reason-payer-mismatch = メールの注文者があなたではありません
reason-order-mismatch = 注文先が転送した注文が異なります
reason-unknown-payer = あなたのアドレスはこの金融機関に口座がありません
reason-unknown-payee = 注文先はこの金融機関に口座がありません
reason-wrong-bank = 注文に別の金融機関が指定されています
reason-password-reused = パスワードAは使用済みです
reason-expired = 注文の期限が切れました
reason-insufficient-funds = 残高が不足しています
reason-cheque-invalid = 財布ファイルを開けないか、署名が正しくありません
reason-cheque-mismatch = 財布ファイルが支払依頼と一致しません
reason-board-missing = 掲示板に注文の記録がありません
reason-board-mismatch = 掲示板の記録がメールと矛盾しています
reason-code-mismatch = 確認コードまたはパスワードAが違います
reason-too-many-attempts = 誤りが多すぎるため注文を停止しました
reason-already-answered = この注文は回答済みです
reason-declined = 支払いを辞退しました
reason-duplicate = 同じ手順について別のメールが届きました
