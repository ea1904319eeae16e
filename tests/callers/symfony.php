<?php
// SPDX-License-Identifier: ISC
// Symfony Mailer's sendmail transport, as an application sends with it
// (tests/test_real_callers.py). Usage: php symfony.php TOKEN [COMMAND]
// Without COMMAND: SendmailTransport's default, '/usr/sbin/sendmail -bs'.
// Prints "sent" when send() returned, "exception: CLASS: MESSAGE" otherwise.
foreach (['/usr/share/php/Symfony/Component/Mailer/autoload.php'] as $a) {
    if (is_file($a)) {
        require $a;
    }
}
use Symfony\Component\Mailer\Mailer;
use Symfony\Component\Mailer\Transport\SendmailTransport;
use Symfony\Component\Mime\Email;

$token = $argv[1];
$command = $argv[2] ?? '';
$transport = $command === '' ? new SendmailTransport() : new SendmailTransport($command);
$mailer = new Mailer($transport);
$email = (new Email())
    ->from('app@example.org')
    ->to('to@example.net')
    ->subject("symfony $token")
    ->text("body $token\n.\nafter the dot\n");
try {
    $mailer->send($email);
    echo "sent\n";
} catch (\Throwable $e) {
    echo 'exception: ', get_class($e), ': ', str_replace("\n", ' ', $e->getMessage()), "\n";
    exit(1);
}
