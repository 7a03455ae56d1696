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
reason-items-mismatch = 請求の品目が注文した品目と異なります
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
reason-merchant-refused = 加盟店が注文を断りました
reason-duplicate = 同じ手順について別のメールが届きました

## メールの種類
kind-order = 注文先への注文
kind-payment-request = 銀行への支払依頼
kind-wallet = 銀行への電子小切手
kind-bill = 請求
kind-confirm = 銀行からの確認
kind-approve = 銀行への OK + A
kind-decline = 銀行への辞退
kind-settled = 決済通知
kind-rejected = 拒否通知
kind-bounce = メール不達の通知
kind-other = メール

## デスクトップ財布：共通
loading = 財布を開いています…
broken = 財布を開けません：{ $reason }
working = 処理中…
saved = 保存しました。
edit = 編集
back = 戻る
review = 確認する
figure = 図{ $number }
nav-pay = 新しい支払い
nav-history = 履歴
nav-contacts = 銀行と注文先
nav-settings = 設定

## ようこそ
# The window's title on the first screen ("ようこそ — MailPay").
welcome-window = ようこそ
welcome-title = ワンタイムパスワードで、メールで支払う
welcome-intro = MailPay は注文先への注文と銀行への支払依頼を同時に送ります。銀行は両方に同じワンタイムパスワードAがあるときだけ支払います。
welcome-try-demo = デモを試す
welcome-demo-hint = デモではアプリの中で銀行と注文先が動きます。アカウントは不要です。
welcome-set-up = メールアカウントを設定する

## アカウント
account-title = メールアカウント
account-address = メールアドレス
account-username = ログイン名（通常はアドレス）
account-imap = 受信サーバー（IMAP）
account-smtp = 送信サーバー（SMTP）
account-port = ポート
account-security = 暗号化
account-password = パスワード
account-password-hint = システムのキーリングに保存し、ファイルには書きません。
account-test = 接続テスト
account-save = 保存
account-saved = アカウントを保存しました。パスワードはキーリングにあります。
account-test-ok = { $server }：接続してログインできました。
account-test-failed = { $server }：{ $reason }

## 銀行と注文先
contacts-title = 銀行と注文先
contacts-banks = 銀行
contacts-add-bank = 銀行を追加・変更
contacts-address = アドレス
contacts-name = 名前
contacts-age-key = 銀行の age 公開鍵（電子小切手用）
contacts-account-ref = この銀行でのあなたの口座
contacts-save-bank = 銀行を保存
contacts-has-key = ・小切手鍵あり
contacts-merchants = 注文先
contacts-add-merchant = 注文先を追加・変更
contacts-link = mailpay: リンクから取り込む
contacts-import = 取り込む
contacts-merchant-bank = 注文先の銀行
contacts-board = 掲示板（https://）
contacts-figures = 注文先が受け付ける図
contacts-figures-short = 図 { $figures }
contacts-save-merchant = 注文先を保存
contacts-pay = 支払う

## 新しい支払い
payment-title = 新しい支払い
payment-from = 支払元：{ $address }
payment-from-choice = 支払元
payment-no-account = メールアカウントがまだ設定されていません。
payment-merchant = 注文先
payment-bank = 銀行
payment-search = 入力して検索
payment-items = 品目または説明
payment-item-placeholder = 例：2 x 緑茶 @ 600 JPY、または説明だけ
payment-add-item = ＋ 行を追加
payment-amount = 金額
payment-currency = 通貨
payment-reference = 注文先の参照番号：{ $reference }
payment-password = パスワードA（注文先と銀行に送られます）
payment-regenerate = 新しいパスワード
payment-own-password = パスワードAを自分で入力する
payment-password-strong = 十分な強さです。
payment-options = オプション
payment-option-cheque = 署名付き電子小切手を銀行に送る（図2）
payment-option-board = 注文先の掲示板に注文を記録する（図3）
payment-option-auto = 銀行の確認が完全に一致したら自動で承認する
payment-summary = { $merchant } に { $bank } 経由で { $amount } を支払います（図{ $figure }）。
payment-pay = 支払う
payment-recording = 記録中…
payment-sending-title = 送信中
payment-sent-title = 送信済み
payment-order = 注文 { $order }
payment-retry = 失敗したメールを再送する
payment-sent = 両方の経路に送りました。銀行からメールで確認が届きます。
payment-another = 新しい支払い
mail-sending = 送信中…
mail-accepted = メールサーバーが受け付けました
mail-queued = 送信待ち
mail-failed = 送信できません：{ $reason }

## 承認
approval-title = 支払いの確認
approval-recorded = あなたの注文
approval-confirmed = 銀行の確認
approval-order = 注文
approval-amount = 金額
approval-merchant = 注文先
approval-orderer = 支払者
approval-items = 品目
approval-no-items = （品目なし）
approval-items-unordered = 注文に品目がないため、これは加盟店が示した品目です。購入するものと一致する場合のみ承認してください。
approval-blocked = 銀行の確認があなたの注文と異なります（赤字）。承認できません。辞退して銀行に連絡してください。
approval-expires = { $expires } までに回答してください。残り { $attempts } 回。
approval-approve = 承認する（OK + A を送る）
approval-decline = 辞退する
approval-answered = 回答を送りました。
review-not-waiting = 注文 { $order } は「{ $state }」です。確認するものはありません。

## 履歴
history-title = 履歴
history-search = 注文先または注文番号で検索
history-all-states = すべての状態
history-export = CSV に書き出す
history-count = { $total } 件中 { $shown } 件（{ $ms } ミリ秒）
history-empty = まだ支払いはありません。
history-exported = { $path } に書き出しました
history-export-title = 履歴を CSV に書き出す
history-no-dialog = このデスクトップには保存ダイアログがないため（{ $reason }）、ダウンロードフォルダに保存しました。
history-details = 詳細
history-answer = 回答する
history-resend = 待機中のメールを今すぐ送る
history-detail-title = 注文 { $order }
timeline-sent = { $kind } → { $peer }
timeline-received = { $kind } ← { $peer }
timeline-raw = メール原文
timeline-state = 支払いの状態：{ $state }
timeline-not-for-orderer = あなたへの控え：対応は不要です
timeline-unknown-order = このウォレットにない注文についてのメール：保留しました
history-tab-payments = 支払い
history-tab-spending = 支出
overview-period = 期間
overview-last-12-months = 過去 12 か月
overview-this-year = 今年
overview-all-time = すべて
overview-currency = 通貨
overview-none = この期間に決済済みの支払いはありません。
overview-total = 決済済み { $payments } 件、合計 { $total }
overview-by-merchant = 注文先別
overview-payments = { $count } 件

## 受信の監視
watch-idle = 受信箱を監視中（IDLE）
watch-polling = 1分ごとに受信箱を確認中
watch-disconnected = 受信箱に接続できません（{ $reason }）。{ $seconds } 秒後に再試行します
watch-invalid = MailPay を名乗るメールが不正です：{ $reason }
watch-set-aside = MailPay のメールをウォレットに取り込めなかったため、MailPay-Quarantine フォルダーに移しました：{ $reason }
watch-confirmation = 銀行が注文 { $order } の確認を求めています。
watch-stepped = 注文 { $order }：{ $state }
payments-expired = 期限切れになった支払い：{ $orders }

## 設定
settings-title = 設定
settings-account = メールアカウント
settings-account-line = { $address }（IMAP { $imap }、SMTP { $smtp }）
settings-keyring = パスワードはシステムのキーリングに保存されています。新しい支払いは、別のアカウントを選ばない限り最初のアカウントから送られます。
settings-initials = 掲示板に記すイニシャル
settings-initials-save = 保存
settings-initials-hint = 掲示板への記録（図3）を選んだとき、加盟店の掲示板に記されます。銀行は登録済みのイニシャルと照合します。
settings-initials-saved = 掲示板の記録にはイニシャル { $initials } が記されます。
settings-edit-account = 変更
settings-add-account = アカウントを追加
settings-remove = 削除
settings-keep = 残す
settings-remove-confirm = { $address } を削除しますか？パスワードはキーリングから消えますが、支払いは履歴に残ります。
settings-account-removed = { $address } を削除しました。
settings-wallet-key = ウォレットの鍵
settings-wallet-key-hint = 口座を開くときに銀行へ伝えてください。ウォレットは小切手（図2）と掲示板への記録（図3）にこの鍵で署名し、銀行はこの鍵で署名されたものだけを受け付けます。
settings-copy = コピー
settings-copied = クリップボードにコピーしました。
settings-language = 言語
settings-language-hint = 既定ではシステムの言語に従います。
settings-theme = テーマ
settings-theme-hint = ライト／ダークはシステムの設定に従います。

## デモ
watch-demo = デモ：銀行と注文先はアプリの中で動いています
demo-started = これはデモです。使い捨ての財布と、アプリ内の銀行・注文先です。金額を入力して「支払う」を押してください。小切手や掲示板の記録を選ぶと図2〜4も試せます。

## Thunderbird: what the wallet tells the add-on
bridge-connected = MailPay は { $address } のメールを Thunderbird 経由で送受信します。
bridge-account-added = MailPay は { $address } から Thunderbird 経由で支払います。パスワードは不要です。
bridge-no-account = Thunderbird のアドレスに、Thunderbird 経由に設定された MailPay のアカウントがありません。MailPay の「設定 → アカウント」で「Thunderbird 経由」を選んでください。
bridge-standby = 別の Thunderbird がこのウォレットのメールを扱っています。こちらは待機します。
bridge-review = 銀行が { $merchant } への { $amount } の支払い(注文 { $order })の確認を求めています。
bridge-answered = 注文 { $order } は事前に承認済みのため、MailPay が銀行に返信しました。
bridge-stepped = 注文 { $order }: { $state }
bridge-duplicate = このメールは MailPay が既に受け取っています。
bridge-not-ours = この MailPay のメールは、このウォレットの支払いに関するものではありません。
bridge-not-mailpay = これは MailPay のメールではありません。

## アプリ：Thunderbird 経由のアカウント
account-route = 送受信の方法
account-route-servers = 自分のメールサーバー経由
account-route-thunderbird = Thunderbird 経由
account-thunderbird-hint = このアカウントとパスワードは Thunderbird が管理し、MailPay はパスワードを保存しません。Thunderbird の MailPay アドオンが、届いた支払いのメールを MailPay に渡し、MailPay のメールをあなたのアカウントから送ります。最初に一度だけ `mailpay thunderbird install` を実行し、表示されたアドオンを Thunderbird に追加してください(アドオンとテーマ)。Thunderbird を閉じている間、MailPay のメールは送信待ちで保管されます。
account-saved-thunderbird = アカウントを保存しました。メールは Thunderbird 経由で送受信し、パスワードは保存しません。
settings-account-line-thunderbird = { $address }(Thunderbird 経由)
watch-thunderbird = Thunderbird 経由：接続中
watch-thunderbird-closed = Thunderbird が起動していません：メールは送信待ちです
watch-thunderbird-other = Thunderbird は起動していますが、MailPay アドオンはこのアドレスを扱っていません
mail-waiting = 送信待ち：Thunderbird が起動すると送られます。
mail-waiting-why = ({ $reason })
payment-send-now = 今すぐ送ってみる
approval-waiting = 返信は送信待ちです：Thunderbird が起動すると送られます。
sent-waiting = メールは送信待ちです：Thunderbird が起動すると送られます。

# サーバーの検索と、プロバイダーでのサインイン。
account-looking-up = メールサーバーを探しています…
account-source-bundled = MailPay のプロバイダー一覧にありました：{ $provider }
account-source-autoconfig = { $domain } が公開している設定です（autoconfig）
account-source-well-known = { $domain } が公開している設定です（.well-known）
account-source-srv = ドメインの DNS（SRV）から
account-source-mx = このドメインのメールは { $provider } が扱っています
account-source-mx-domain = メールホスト { $host } が公開している設定です
account-source-guess = ドメイン名からの推測です — 確認してください
account-tried = { $asked } を試しました：{ $reason }
account-help-link = ヘルプページを開く
account-sign-in-with = { $provider } でサインイン
account-use-app-password = 代わりにアプリパスワードを使う
account-sign-in-waiting = ブラウザーでのサインインを待っています…
account-cancel = キャンセル
account-browser-hint = ブラウザーが開かない場合は、このアドレスをブラウザーで開いてください：
account-browser-failed = ブラウザーを起動できませんでした（{ $reason }）。このアドレスをブラウザーで開いてください：
account-copy = コピー
account-signed-in = サインインしました。サインイン情報は OS のキーリングに保存されます。
account-signed-in-with = { $provider } でサインイン済み
account-sign-in-again = もう一度サインイン
account-no-client-id = この MailPay のビルドは { $provider } に登録されていないため、サインインできません。{ $provider } のアカウント設定でアプリパスワードを作成し、代わりに使ってください（「代わりにアプリパスワードを使う」）。
account-sign-in-declined = ブラウザーでサインインが拒否されました：{ $reason }
account-sign-in-timed-out = 時間内にブラウザーから応答がなかったため、サインインを中止しました。もう一度お試しください。
account-sign-in-cancelled = サインインをキャンセルしました。
account-sign-in-failed = サインインできませんでした：{ $reason }
watch-sign-in-again = 受信箱を監視するにはもう一度サインインしてください
sign-in-needed = { $address } のサインインが期限切れか取り消されました。もう一度サインインしてください。それまでメールは送信待ちのままです。

## Background mode
settings-background = バックグラウンド
settings-quit-on-close = ウィンドウを閉じたら終了する
settings-start-at-login = ログイン時に起動する（ウィンドウを開かずにバックグラウンドで）
settings-background-hint = ウィンドウを閉じても MailPay は受信トレイを見守り続けます。事前に承認した支払いには自動で応答し、確認が必要なときは通知でお知らせします。ステータスアイコンから、または MailPay をもう一度起動するとウィンドウが開きます。
background-open = MailPay を開く
background-pause = 監視を一時停止
background-resume = 監視を再開
background-quit = 終了
background-paused = 監視を一時停止中
background-no-tray = デスクトップにステータスアイコンを表示できません（{ $reason }）。ウィンドウを閉じた後は、MailPay をもう一度起動すると開きます。
