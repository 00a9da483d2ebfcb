//! `mock-echo-mcp`: the stdio MCP server tests hand to codex (`mcp_servers.echo.command`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    codex_teams_mock_model::echo_mcp::serve_stdio().await
}
