//! The operator's side with `rotate`: credentials imported from a `.env` file, checked,
//! rotated and inspected; then a Lambda rotation that failed, found by `status` and cleared
//! by `repair`. Every command is the real binary; its output is shown as it printed it.

use integration_tests::{SecretsManager, moto, postgres, rotate, unique};
use rotation_core::AWSCURRENT;

/// Runs `rotate args`, shows the command and what it printed, and says whether it exited
/// with `expected`.
async fn show(args: &[&str], expected: i32) -> bool {
    println!("\n  $ rotate {}", args.join(" "));
    let run = rotate(args, &[]).await;
    for line in run.text().lines() {
        println!("    {line}");
    }
    if run.code != expected {
        println!(
            "    UNEXPECTED exit status {} (expected {expected})",
            run.code
        );
    }
    run.code == expected
}

pub async fn operator_demo(sm: &SecretsManager) -> bool {
    let pg = postgres();
    let user = unique("shop_app");
    let password = format!("from-dotenv-{}", unique("pw"));
    pg.create_role(&user, &password).await;
    let jwt_key = unique("jwt-key-from-dotenv-0123456789abcdef");
    let dir = std::env::temp_dir().join(unique("shop"));
    std::fs::create_dir_all(&dir).unwrap();
    let env_file = dir.join(".env");
    std::fs::write(
        &env_file,
        format!(
            "# shop service\nDATABASE_URL=postgresql://{user}:{password}@127.0.0.1:{}/postgres\nJWT_SECRET_KEY={jwt_key}\nLOG_LEVEL=info\n",
            pg.port
        ),
    )
    .unwrap();
    let path = env_file.to_str().unwrap();
    println!("\nThe operator's tool, rotate: from a .env file to rotated secrets");
    println!("  {path} (values hidden here; rotate never prints them either):");
    println!("    # shop service");
    println!(
        "    DATABASE_URL=postgresql://{user}:********@127.0.0.1:{}/postgres",
        pg.port
    );
    println!("    JWT_SECRET_KEY=********");
    println!("    LOG_LEVEL=info");
    println!(
        "  every command runs with --endpoint-url {} --region us-east-1",
        moto().endpoint
    );

    let mut ok = true;
    ok &= show(&["import", "--env-file", path, "--prefix", "shop-prod"], 0).await;
    ok &= show(
        &[
            "import",
            "--env-file",
            path,
            "--prefix",
            "shop-prod",
            "--apply",
        ],
        0,
    )
    .await;
    ok &= show(&["check", "--secret-id", "shop-prod/postgres"], 0).await;
    ok &= show(&["run", "--secret-id", "shop-prod/postgres"], 0).await;
    ok &= show(&["run", "--secret-id", "shop-prod/jwt"], 0).await;
    // Rotation is not on yet: status says so, with the command that turns it on.
    ok &= show(&["status", "--secret-id", "shop-prod/postgres"], 1).await;

    let rotated = sm.value("shop-prod/postgres", AWSCURRENT).await.unwrap();
    let rotated = rotated["password"].as_str().unwrap().to_owned();
    let now_works = pg.can_login(&user, &rotated).await;
    let dotenv_refused = !pg.can_login(&user, &password).await;
    println!(
        "\n  the .env password is now {}; AWSCURRENT's {}",
        if dotenv_refused {
            "refused"
        } else {
            "STILL ACCEPTED"
        },
        if now_works {
            "logs in"
        } else {
            "DOES NOT LOG IN"
        }
    );

    println!(
        "\n  Rotation turned on with a function that fails before createSecret stores a value:"
    );
    sm.start_rotation("shop-prod/postgres").await;
    ok &= show(&["status", "--secret-id", "shop-prod/postgres"], 1).await;
    ok &= show(&["repair", "--secret-id", "shop-prod/postgres"], 0).await;
    ok &= show(
        &["repair", "--secret-id", "shop-prod/postgres", "--apply"],
        0,
    )
    .await;
    ok &= show(&["status", "--secret-id", "shop-prod/postgres"], 0).await;
    let _ = std::fs::remove_dir_all(&dir);
    ok && now_works && dotenv_refused
}
